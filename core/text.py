"""Plain text from HTML fragments, whitespace folded: shared by spiders and the normalize stage.

Both take what a source sent, whatever it is: a JSON field of another type counts as a bad field
(core/fields.py) and reads as no text; a lone surrogate (a JSON escape like \\ud800) becomes U+FFFD;
markup lxml cannot parse falls back to its text with the tags cut out.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree, html

from core.fields import note_bad_field

_SPACES = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_BLOCKS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "section", "blockquote")
_TAG = re.compile(r"<[^>]*>")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


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
    text = as_text(text)
    if not text:
        return ""
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def html_to_text(fragment: Any) -> str:
    """Visible text of an HTML fragment, one line per block, whitespace folded."""
    return summarize_html(fragment)[0]


def summarize_html(fragment: Any) -> tuple[str, int, int]:
    """(visible text, image count, video count) of an HTML fragment, parsed once."""
    fragment = as_text(fragment)
    if not fragment or not fragment.strip():
        return "", 0, 0
    if "<" not in fragment:
        return clean_text(fragment), 0, 0
    try:
        doc = html.fragment_fromstring(fragment.replace("\x00", ""), create_parent="div")
    except (etree.ParserError, ValueError, AssertionError):  # lxml's "too many bodies", "Document is empty"
        return clean_text(_TAG.sub(" ", fragment)), 0, 0
    images = len(doc.xpath(".//img"))
    videos = len(doc.xpath(".//video | .//iframe"))
    for bad in doc.xpath(".//script | .//style"):
        bad.drop_tree()
    for el in doc.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
    return clean_text(doc.text_content()), images, videos
