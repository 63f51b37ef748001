"""Label/value pairs on a page, in the layouts portals write them: '标签：值' text, th/td, td/td, dt/dd,
a label element followed by its value element, a label text followed by a value <span>.

``label_values`` walks the body once. A label is a short text naming a known field (a trailing colon
allowed); its value is the first non-empty node after it among its next siblings — unless that node is
itself a label, which makes the value empty (a 答复时间 slot left blank is not the next field's value).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

from lxml import etree
from parsel import Selector

from core.text import clean_text

SKIPPED_TAGS = frozenset({"script", "style", "head", "select", "option", "textarea", "noscript", "button"})
COLON = "：:"
_WS = re.compile(r"[\s\u3000\xa0]+")
LABEL_CHARS = 14  # a label (with its colon) is no longer than this
SIBLINGS = 2  # how many elements after a label may hold its value


def compact(text: str | None) -> str:
    """Text with every space removed: 来 信 时 间 and 来信时间 are one label."""
    return _WS.sub("", text or "")


class Labels:
    """Which field a label names: ``fields`` maps a field to a regex its labels fully match."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = {name: re.compile(pattern) for name, pattern in fields.items()}
        words = "|".join(f"(?:{p})" for p in fields.values())
        # Several 'label：value' pairs may share one text node: each value runs to the next known label.
        self.inline = re.compile(
            rf"(?P<label>{words})\s*[{COLON}]\s*(?P<value>.*?)(?=(?:{words})\s*[{COLON}]|$)", re.S
        )

    def field_of(self, text: str | None) -> str | None:
        label = compact(text).rstrip(COLON)
        if not label or len(label) >= LABEL_CHARS:
            return None
        return next((name for name, rx in self.fields.items() if rx.fullmatch(label)), None)

    def starts_with_label(self, text: str) -> bool:
        return self.field_of(text) is not None or bool(self.inline.match(text))

    def inline_pairs(self, text: str | None) -> Iterator[tuple[str, str]]:
        """'label：value' text → (field, value) for each known label in it."""
        for m in self.inline.finditer(text or ""):
            name = self.field_of(m["label"])
            if name:
                yield name, clean_text(m["value"])


def _is_element(node: Any) -> bool:
    return isinstance(node.tag, str)


def _text(node: Any) -> str:
    if not _is_element(node) or node.tag in SKIPPED_TAGS:
        return ""
    return clean_text(" ".join(node.itertext()))


def _short_text(node: Any) -> str | None:
    """The element's text when it is short enough to be a label, else None (read no further than that)."""
    out = []
    size = 0
    for chunk in node.itertext():
        size += len(compact(chunk))
        if size > LABEL_CHARS:
            return None
        out.append(chunk)
    return clean_text(" ".join(out))


def _following(node: Any, *, with_self: bool) -> Iterator[str]:
    """Texts after a point in document order among siblings: the node itself, its tail, the next siblings."""
    if with_self:
        yield _text(node)
    yield node.tail or ""
    for sib in islice(node.itersiblings(), SIBLINGS):
        yield _text(sib)
        yield sib.tail or ""


def _value(labels: Labels, texts: Iterator[str]) -> str | None:
    text = next((clean_text(t) for t in texts if t and t.strip()), None)
    if text is None:
        return None
    return "" if labels.starts_with_label(text) else text


def label_values(sel: Selector, labels: Labels) -> dict[str, str]:
    """field → the first non-empty value the page gives it, in document order."""
    root = sel.root
    if not isinstance(root, etree._Element):
        return {}
    body = root.find("body") if root.tag == "html" else None
    found: dict[str, str] = {}

    def put(name: str | None, value: str | None) -> None:
        if name and value and name not in found:
            found[name] = value

    skipped: set[Any] = set()
    for el in (body if body is not None else root).iter():
        if not _is_element(el):
            continue
        if el.tag in SKIPPED_TAGS or el.getparent() in skipped:
            skipped.add(el)
            continue
        whole = _short_text(el)
        if whole and labels.field_of(whole):  # <th>来信时间</th>, <dt>, <span class="label">, <td>状态：</td>
            put(labels.field_of(whole), _value(labels, _following(el, with_self=False)))
            continue
        # The text nodes inside el: before its first child, and after each child.
        children = [c for c in el if _is_element(c) or c.tail]
        for chunk, after in (
            (el.text, children[0] if children else None),
            *((c.tail, c.getnext()) for c in children),
        ):
            if not chunk or not chunk.strip():
                continue
            if labels.field_of(chunk):  # 咨询时间：<span id="zxsj">2024-01-02</span>
                if after is not None:
                    put(labels.field_of(chunk), _value(labels, _following(after, with_self=True)))
                continue
            for name, value in labels.inline_pairs(chunk):
                put(name, value)
    return found
