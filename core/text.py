"""Plain text from HTML fragments, whitespace folded: shared by spiders and the normalize stage."""

from __future__ import annotations

import re

from lxml import etree, html

_SPACES = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_BLOCKS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "section", "blockquote")
# Characters lxml refuses (C0 controls other than tab and newlines, lone surrogates): spaces before parsing.
_UNPARSABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_TAGS = re.compile(r"<[^>]*>")


def clean_text(text: str | None) -> str:
    if not text:
        return ""
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def html_to_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment, one line per block, whitespace folded."""
    return summarize_html(fragment)[0]


def summarize_html(fragment: str | None) -> tuple[str, int, int]:
    """(visible text, image count, video count) of an HTML fragment, parsed once."""
    if not fragment or not fragment.strip():
        return "", 0, 0
    fragment = _UNPARSABLE.sub(" ", fragment)
    if "<" not in fragment:
        return clean_text(fragment), 0, 0
    try:
        doc = html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, etree.ParserError):
        return clean_text(_TAGS.sub(" ", fragment)), 0, 0
    images = len(doc.xpath(".//img"))
    videos = len(doc.xpath(".//video | .//iframe"))
    for bad in doc.xpath(".//script | .//style"):
        bad.drop_tree()
    for el in doc.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
    return clean_text(doc.text_content()), images, videos
