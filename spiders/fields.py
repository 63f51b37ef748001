"""Tolerant readers for fields of third-party JSON: a value of the wrong shape is None, never an exception.

Parsers read every field through these, so a bad field loses that field and not the item or the page; a
value that is there but of the wrong shape is counted (stats ``monitor/bad_field/<shape>``).
"""

from __future__ import annotations

import re
from typing import Any

from core.fields import note_bad_field

# WeChat's 原始ID: gh_ and hex digits (demo and old accounts use other word characters).
GH_ID = re.compile(r"gh_\w{4,40}", re.ASCII)
# A 微信号: a letter, then letters, digits, _ or -; WeChat allows 6–20, old accounts are shorter.
WECHAT_ID = re.compile(r"[A-Za-z][-\w]{2,39}", re.ASCII)


def _wrong(value: Any, shape: str) -> None:
    if value is not None and value != "":
        note_bad_field(shape)


def as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    _wrong(value, "mapping")
    return {}


def as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    _wrong(value, "list")
    return []


def as_dicts(value: Any) -> list[dict[str, Any]]:
    """The dicts in a list (anything else in it skipped)."""
    return [v for v in as_list(value) if isinstance(v, dict)]


def as_str(value: Any) -> str | None:
    """A non-empty string, stripped; numbers as their digits; anything else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    _wrong(value, "text")
    return None


def as_int(value: Any) -> int | None:
    """An int from an int or a string of digits (``"11"``, ``" 7 "``, ``"-3"``); anything else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    _wrong(value, "number")
    return None


def gh_id(value: Any) -> str | None:
    """A 原始ID (``gh_…``), or None for anything else (``wxid_…`` personal ids included)."""
    text = as_str(value)
    return text if text and GH_ID.fullmatch(text) else None


def wechat_id(value: Any) -> str | None:
    """A 微信号, or None for anything that cannot be one (a nickname, a URL, markup)."""
    text = as_str(value)
    return text if text and WECHAT_ID.fullmatch(text) else None
