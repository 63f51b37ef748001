"""Plain text from HTML fragments, whitespace folded: shared by spiders and the normalize stage."""

from __future__ import annotations

import re

from lxml import etree

_SPACES = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_BLOCKS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "section", "blockquote")
_BLOCK_SET = frozenset(_BLOCKS)
_MEDIA = frozenset(("video", "iframe"))
_INVISIBLE = frozenset(("script", "style"))
_PARSER = etree.HTMLParser(remove_comments=True)


def clean_text(text: str | None) -> str:
    if not text:
        return ""
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def html_to_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment, one line per block, whitespace folded."""
    return summarize_html(fragment)[0]


def summarize_html(fragment: str | None) -> tuple[str, int, int]:
    """(visible text, image count, video count) of an HTML fragment, parsed once and walked once."""
    if not fragment or not fragment.strip():
        return "", 0, 0
    if "<" not in fragment:
        return clean_text(fragment), 0, 0
    root = etree.fromstring(f"<html><body><div>{fragment}</div></body></html>", _PARSER)
    doc = root[0][0] if root is not None and len(root) and len(root[0]) else root
    if doc is None:
        return "", 0, 0
    images = videos = 0
    dropped = []
    for el in doc.iter(etree.Element):
        tag = el.tag
        if tag == "img":
            images += 1
        elif tag in _MEDIA:
            videos += 1
        elif tag in _INVISIBLE:
            dropped.append(el)
        if tag in _BLOCK_SET:
            el.tail = "\n" + (el.tail or "")
    for el in dropped:
        _drop_keeping_tail(el)
    return clean_text(etree.tostring(doc, method="text", encoding="unicode", with_tail=False)), images, videos


def _drop_keeping_tail(el: etree._Element) -> None:
    """Remove an element and its content; the text after it stays where it was."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)
