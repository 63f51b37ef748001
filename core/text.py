"""Plain text from HTML fragments, whitespace folded: shared by spiders and the normalize stage.

Both take what a source sent, whatever it is: a JSON field of another type counts as a bad field
(core/fields.py) and reads as no text; a lone surrogate (a JSON escape like \\ud800) becomes U+FFFD;
markup lxml cannot parse falls back to its text with the tags cut out.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from opencc import OpenCC

from core.fields import note_bad_field

_SPACES = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# Whitespace other than a space or a newline: what clean_text folds or reads as a line break.
_ODD_SPACE = re.compile(r"[^\S \n]")
_BLOCKS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "section", "blockquote")
# Characters lxml refuses (C0 controls other than tab and newlines, lone surrogates): spaces before parsing.
_UNPARSABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_TAGS = re.compile(r"<[^>]*>")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BLOCK_SET = frozenset(_BLOCKS)
_MEDIA = frozenset(("video", "iframe"))
_INVISIBLE = frozenset(("script", "style"))
_PARSER = etree.HTMLParser(remove_comments=True)


def as_text(value: Any, field: str = "text") -> str:
    """A source's value as text: numbers written out, anything else (a list, a mapping) counted and ''."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    note_bad_field(field)
    return ""


def clean_text(text: Any) -> str:
    """``text`` with its spaces folded, each line stripped, blank lines dropped."""
    text = as_text(text)
    return text if is_clean(text) else _fold_lines(text)


def is_clean(text: str) -> bool:
    """True when ``clean_text(text) == text`` (most titles, every text cleaned once), checked without
    folding: no whitespace but single spaces and newlines, none at either end or beside a newline."""
    if _ODD_SPACE.search(text) or "  " in text or "\n\n" in text or " \n" in text or "\n " in text:
        return False
    return not text or (text[0] not in " \n" and text[-1] not in " \n")


def _fold_lines(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def html_to_text(fragment: Any) -> str:
    """Visible text of an HTML fragment, one line per block, whitespace folded."""
    return summarize_html(fragment)[0]


def summarize_html(fragment: Any) -> tuple[str, int, int]:
    """(visible text, image count, video count) of an HTML fragment, parsed once and walked once."""
    fragment = as_text(fragment)
    if not fragment or not fragment.strip():
        return "", 0, 0
    fragment = _UNPARSABLE.sub(" ", fragment)
    if "<" not in fragment:
        return clean_text(fragment), 0, 0
    try:
        root = etree.fromstring(f"<html><body><div>{fragment}</div></body></html>", _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return clean_text(_TAGS.sub(" ", fragment)), 0, 0
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


# Traditional script is converted character by character and by OpenCC's phrase table (t2s), which keeps
# names as written (智慧 stays 智慧, as Taiwan-phrase tables would not). Mirrors that machine-convert text
# also swap words for Taiwan usage (注销 → 登出, 屏蔽 → 遮蔽); those swaps are undone after conversion.
# Simplified text never passes through it: 登出 is also mainland shorthand for 刊登出.
_T2S = OpenCC("t2s")
MIRROR_WORDS = {"登出": "注销", "登入": "登录", "遮蔽": "屏蔽", "无法检视": "无法查看"}
_MIRROR = re.compile("|".join(MIRROR_WORDS))
# Mirrors that add readings inline write them in brackets after the character: 公眾號(hào).
_PINYIN = re.compile(r"[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,6}[)）]")
_WIDE = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”「」"
_GAP_CHARS = " \t\u3000\xa0"
# Besides traditional forms, what to_simplified changes starts at one of these: an inline pinyin's
# bracket, a gap between characters (a text holding none is plain unless it has a traditional form).
UNPLAIN_CHARS = "(（" + _GAP_CHARS
_CJK_SPACE = re.compile(rf"(?<=[{_WIDE}])[{_GAP_CHARS}]+(?=[{_WIDE}])")


def has_traditional(text: str) -> bool:
    """True when ``text`` holds a character outside GB 2312 (the simplified set): a traditional form."""
    try:
        text.encode("gb2312")
    except UnicodeEncodeError:
        return True
    return False


def is_plain_simplified(text: str) -> bool:
    """True when ``to_simplified(text) == text``: no inline pinyin, no traditional form, no space between
    Chinese characters (checked without converting)."""
    if has_traditional(text):
        return False
    if ("(" in text or "（" in text) and _PINYIN.search(text):
        return False
    return not (any(c in text for c in _GAP_CHARS) and _CJK_SPACE.search(text))


def to_simplified(text: str) -> str:
    """``text`` in simplified script, inline pinyin dropped and spaces between Chinese characters folded."""
    if not text:
        return ""
    text = _PINYIN.sub("", text)
    if has_traditional(text):
        text = _MIRROR.sub(lambda m: MIRROR_WORDS[m.group(0)], _T2S.convert(text))
    return _CJK_SPACE.sub("", text)
