"""Limits on the desk's SQLite connections that the SQL time limit alone does not give.

Datasette interrupts a query through SQLite's progress handler, which is not consulted inside a single
function call: ``printf('%.*c', 900000000, 'x')`` spent 24 s building 900 MB, three at once took 2.3 GB.
So every desk connection gets a length limit on values, printf()/format() refuse a width or precision
beyond it (their loop would still run to the end), and functions that describe the process rather than
the data (``fts3_tokenizer()`` hands out a memory pointer) are refused. Writes are off (query_only).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Any

# No single value (string or blob) may exceed this: far above any stored post, evidence or stats.
MAX_VALUE_BYTES = 10_000_000
# LIKE / GLOB patterns: the desk's own are a few words; a huge pattern only burns time in one call.
MAX_PATTERN_BYTES = 1_000
REFUSED_FUNCTIONS = (
    ("fts3_tokenizer", 1),
    ("fts3_tokenizer", 2),
    ("load_extension", 1),
    ("load_extension", 2),
    ("sqlite_compileoption_get", 1),
    ("sqlite_compileoption_used", 1),
)
# One printf conversion: flags, width (digits or *), precision (. digits or *), length, conversion.
PRINTF_SPEC = re.compile(r"%([-+ 0#,!]*)(\*|\d+)?(?:\.(\*|\d*))?(?:ll|l)?(.)", re.DOTALL)


class Refused(sqlite3.OperationalError):
    pass


def _refuse(*_: Any) -> None:
    raise Refused("refused on the desk")


def printf_size_ok(fmt: str, args: tuple[Any, ...], limit: int = MAX_VALUE_BYTES) -> bool:
    """Whether every width and precision in ``fmt`` (literal or taken from ``args`` by ``*``) is within
    ``limit``."""
    remaining = list(args)

    def take() -> Any:
        return remaining.pop(0) if remaining else 0

    for flags_width_precision in PRINTF_SPEC.finditer(fmt):
        _, width, precision, conversion = flags_width_precision.groups()
        if conversion == "%":
            continue
        sizes = []
        for part in (width, precision):
            if part == "*":
                value = take()
                try:
                    sizes.append(abs(int(value)))
                except (TypeError, ValueError):
                    sizes.append(0)
            elif part:
                sizes.append(int(part))
        if any(s > limit for s in sizes):
            return False
        take()  # the value this conversion formats
    return True


_plain = threading.local()


def _builtin_printf(fmt: Any, args: tuple[Any, ...]) -> Any:
    """SQLite's own printf(), on a private in-memory connection (the desk's name is taken by the guard)."""
    conn = getattr(_plain, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        _plain.conn = conn
    marks = ", ".join("?" for _ in range(len(args) + 1))
    return conn.execute(f"SELECT printf({marks})", [fmt, *args]).fetchone()[0]


def guarded_printf(fmt: Any, *args: Any) -> Any:
    if isinstance(fmt, str) and not printf_size_ok(fmt, args):
        raise Refused(f"printf width or precision over the desk's limit of {MAX_VALUE_BYTES} characters")
    return _builtin_printf(fmt, args)


def guard_connection(conn: sqlite3.Connection) -> None:
    """Apply every desk limit to ``conn``."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_PATTERN_BYTES)
    for name, nargs in REFUSED_FUNCTIONS:
        conn.create_function(name, nargs, _refuse)
    for name in ("printf", "format"):
        conn.create_function(name, -1, guarded_printf, deterministic=True)
    conn.execute("PRAGMA query_only = 1")
