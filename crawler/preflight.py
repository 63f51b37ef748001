"""Mistakes are loud: a database that is not there, no targets, an unknown target id, a rules file that
cannot be read stop a command with a line saying what to do, never an empty success (and never a new
empty database made by a typo)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from scrapy.exceptions import UsageError

from db import open_db
from detection.rules.config import RulesError, RuleSet, load_rules


def require_db(path: str) -> str:
    if not Path(path).is_file():
        raise UsageError(
            f"no database at {path}: check --db / MONITOR_DB, or create it by importing targets "
            f"(scrapy import-targets FILE --db {path})",
            print_help=False,
        )
    return path


def require_rules(path: str | None) -> RuleSet:
    """The rules file (``--rules`` / MONITOR_RULES, else the shipped one), or a usage error naming it."""
    try:
        return load_rules(path or None)
    except RulesError as exc:
        raise UsageError(str(exc), print_help=False) from exc


def require_targets(path: str, ids: Iterable[int] | None = None) -> None:
    """At least one active target; and each id asked for, when ids are given, is an active target."""
    db = open_db(require_db(path))
    try:
        active = {r[0] for r in db.execute("SELECT id FROM targets WHERE active = 1")}
        known = {r[0] for r in db.execute("SELECT id FROM targets")}
    finally:
        db.close()
    if not active:
        raise UsageError(
            f"no active targets in {path}: import a registry first (scrapy import-targets FILE --db {path})",
            print_help=False,
        )
    wanted = list(ids or ())
    unknown = [i for i in wanted if i not in known]
    inactive = [i for i in wanted if i in known and i not in active]
    if unknown or inactive:
        parts = [f"no target {', '.join(map(str, unknown))}"] if unknown else []
        parts += [f"target {', '.join(map(str, inactive))} is inactive"] if inactive else []
        raise UsageError(f"{'; '.join(parts)} in {path} (see the targets table)", print_help=False)


def parse_ids(text: str | None) -> list[int]:
    try:
        return [int(t) for t in (text or "").split(",") if t.strip()]
    except ValueError as exc:
        raise UsageError(
            f"target ids are numbers separated by commas, not {text!r}", print_help=False
        ) from exc
