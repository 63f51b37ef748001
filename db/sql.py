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


def order_by_members(expr: str, members: Iterable[object]) -> str:
    """``CASE expr WHEN 'a' THEN 0 WHEN 'b' THEN 1 … END``: a closed set in its own order (veto first)."""
    whens = " ".join(f"WHEN {quote(m)} THEN {i}" for i, m in enumerate(members))
    return f"CASE {expr} {whens} ELSE 99 END"
