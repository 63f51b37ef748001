"""SQL spelled from the closed sets in core/enums.py: a list of values is rendered here, never retyped."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


def quote(value: object) -> str:
    text = value.value if isinstance(value, Enum) else str(value)
    return "'" + str(text).replace("'", "''") + "'"


def in_list(values: Iterable[object]) -> str:
    """``('a', 'b')`` for an SQL ``IN``: sorted, so generated SQL is stable text."""
    items = sorted({quote(v) for v in values})
    return "(" + ", ".join(items) + ")" if items else "(NULL)"
