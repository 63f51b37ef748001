"""Fields that could not be read: a bad value loses that field, never its item, page or check.

Parsers read a value of unknown shape with ``read_field`` (or call ``note_bad_field`` when they give
up on one); the count of each field lost is kept here until the crawl takes it into its stats as
``monitor/bad_field/<name>`` (``drain_bad_fields``). A crawl is one process with one reactor thread, so
one tally per process is the crawl's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_lost: Counter[str] = Counter()


def note_bad_field(name: str) -> None:
    """Count one value of ``name`` that was there but could not be read."""
    _lost[name] += 1


def read_field(name: str, parse: Callable[[Any], T], value: Any, default: T | None = None) -> T | None:
    """``parse(value)``, or ``default`` (and the field counted as lost) when that raises."""
    try:
        return parse(value)
    except Exception:
        note_bad_field(name)
        return default


def drain_bad_fields() -> dict[str, int]:
    """The fields lost since the last drain, by name; the tally starts again from zero."""
    lost = dict(_lost)
    _lost.clear()
    return lost


SURROGATE = re.compile("[\ud800-\udfff]")
# SQLite's INTEGER is 64-bit signed: a larger count cannot be stored.
INT_RANGE = range(-(2**63), 2**63)


def _as_int(value: Any) -> int:
    number = int(value) if isinstance(value, bool | int) else int(float(str(value).strip()))
    if number not in INT_RANGE:
        raise OverflowError(number)
    return number


def _as_str(value: Any) -> str:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (\ud800) from a JSON escape: not storable as is
            note_bad_field("text_encoding")
            return SURROGATE.sub("\ufffd", value)
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(type(value).__name__)


CONVERTERS: dict[type, Callable[[Any], Any]] = {int: _as_int, float: float, str: _as_str}


def as_column(name: str, value: Any, kind: type) -> Any:
    """``value`` as a column of type ``kind`` (str, int or float); None, counted, when it cannot be one."""
    if value is None:
        return None
    try:
        return CONVERTERS[kind](value)
    except (TypeError, ValueError, OverflowError):
        note_bad_field(name)
        return None
