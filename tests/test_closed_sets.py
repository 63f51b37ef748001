"""Every closed set is defined once (core/enums.py): no SQL, view, canned query or chart retypes one.

The test reads every SQL the product runs or serves — the views of a fresh database, the SQL strings in
db/*.py, the canned queries and dashboard charts of the Datasette metadata — finds each literal compared
with a closed-set column (``kind``, ``outcome``, ``severity``, ``verdict``…) or listed in an ``IN (...)``,
and fails when a literal is not a member of that set, or when a literal list is not one of the named
groups (so a list cannot silently drift from the group it stands for). Rule ids must be rules of the
rules file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import yaml

from core import enums
from db import open_db
from db.serve import build_metadata
from detection.rules.config import load_rules
from tests.helpers import ROOT

# column name (the part after a table alias) -> the closed set(s) its values come from
COLUMN_SETS: dict[str, tuple[str, ...]] = {
    "kind": ("check_kind", "column_kind", "post_kind"),
    "outcome": ("check_outcome",),
    "last_check_outcome": ("check_outcome",),
    "severity": ("severity",),
    "verdict": ("verdict",),
    "coverage": ("coverage",),
    "platform": ("platform",),
    "board_kind": ("board_kind",),
    "answer_state": ("answer_state",),
    "level": ("level",),
    "problem": ("problem",),
    "status": ("account_status", "run_status", "column_status"),
    "account_state": ("account_status",),
}
# Named groups a literal list may spell (anything else is a retyped, drifting list).
GROUPS: list[frozenset[str]] = [
    frozenset(enums.OK_OUTCOMES),
    frozenset(enums.NETWORK_OUTCOMES),
    frozenset(enums.DEAD_LINK_OUTCOMES),
    frozenset(enums.UNAVAILABLE_STATUSES),
    frozenset(enums.DERIVED_STATUSES),
    frozenset(enums.ACCOUNT_LIST_KINDS),
    *(frozenset(enums.outcomes_in(g)) for g in enums.OutcomeGroup),
    frozenset(enums.outcomes_in(enums.OutcomeGroup.CRAWLER, enums.OutcomeGroup.BLOCKED)),
]
GROUPS += [frozenset({v}) for s in enums.CLOSED_SETS.values() for v in s]

STRING = re.compile(r"'((?:[^']|'')*)'")
COMPARED = re.compile(r"(?<![\w.])(?:\w+\.)?(?P<col>\w+)\s*(?:=|!=|<>)\s*§(?P<value>\d+)§")
LISTED = re.compile(
    r"(?<![\w.])(?:\w+\.)?(?P<col>\w+)\s+(?:NOT\s+)?IN\s*\((?P<values>\s*§\d+§(?:\s*,\s*§\d+§)*)\s*\)", re.I
)


def lexed(sql: str) -> tuple[str, list[str]]:
    """The SQL with each string literal replaced by §n§, and the literals: text inside a string (a URL
    like '?level=') is never read as a comparison."""
    values: list[str] = []

    def keep(m: re.Match[str]) -> str:
        values.append(m[1].replace("''", "'"))
        return f"§{len(values) - 1}§"

    return STRING.sub(keep, sql), values


RULE_ID = re.compile(r"'((?:account|portal)\.[a-z_0-9]+)'")


def served_sql() -> Iterator[tuple[str, str]]:
    """(where, sql) for every piece of SQL the product runs or serves."""
    db = open_db(":memory:")
    for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'"):
        yield f"view {name}", sql
    db.close()
    for path in sorted((ROOT / "db").glob("*.py")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    meta = build_metadata()
    for name, q in meta["databases"]["monitor"].get("queries", {}).items():
        yield f"canned query {name}", q["sql"]
    for board in meta.get("plugins", {}).get("datasette-dashboards", {}).values():
        for slug, chart in board.get("charts", {}).items():
            yield f"chart {slug}", chart["query"]
        for name, f in board.get("filters", {}).items():
            if f.get("query"):
                yield f"filter {name}", f["query"]


def allowed(col: str) -> frozenset[str] | None:
    names = COLUMN_SETS.get(col)
    if names is None:
        return None
    return frozenset().union(*(enums.CLOSED_SETS[n] for n in names))


def test_every_closed_set_is_registered() -> None:
    found = {
        name for name, obj in vars(enums).items() if isinstance(obj, type) and issubclass(obj, enums.StrEnum)
    }
    found.discard("StrEnum")
    registered = {type(next(iter(s))).__name__ for s in enums.CLOSED_SETS.values() if s}
    assert found - {"OutcomeGroup"} == registered  # OutcomeGroup is never stored: it groups outcomes
    # every outcome belongs to exactly one group
    assert set(enums.OUTCOME_GROUPS) == set(enums.CheckOutcome)


@pytest.mark.parametrize(("where", "sql"), list(served_sql()), ids=lambda v: v if len(v) < 60 else None)
def test_no_literal_drifts_from_its_closed_set(where: str, sql: str) -> None:
    code, strings = lexed(sql)
    for m in COMPARED.finditer(code):
        values = allowed(m["col"])
        value = strings[int(m["value"])]
        if values is not None and value != "":
            assert value in values, f"{where}: {m['col']} = {value!r} is not in its closed set"
    for m in LISTED.finditer(code):
        values = allowed(m["col"])
        literals = frozenset(strings[int(i)] for i in re.findall(r"§(\d+)§", m["values"]))
        if values is None:
            continue
        assert literals <= values, f"{where}: {m['col']} IN {sorted(literals)}: {sorted(literals - values)}"
        assert literals in GROUPS, f"{where}: {m['col']} IN {sorted(literals)} is not a named group"


def test_rule_ids_in_sql_are_rules_of_the_rules_file() -> None:
    rules = set(load_rules().rules)
    for where, sql in served_sql():
        for rule in RULE_ID.findall(sql):
            assert rule in rules, f"{where} names {rule}, which the rules file does not define"


def test_no_threshold_outside_the_rules_file() -> None:
    """The desk's metadata names no day/month count of its own: staleness and deadlines are detection's."""
    text = yaml.safe_dump(build_metadata(), allow_unicode=True)
    assert not re.search(r"'-\s*\d+\s*days'|julianday\([^)]*\)\s*[<>]=?\s*\d", text)
    assert "'-' || days" not in text


def test_the_scanner_catches_a_drifted_literal() -> None:
    """The check itself: a retyped list missing a member, an unknown value, a misspelt rule."""
    with pytest.raises(AssertionError, match="not a named group"):
        test_no_literal_drifts_from_its_closed_set("t", "SELECT 1 WHERE c.outcome IN ('ok', 'timeout')")
    with pytest.raises(AssertionError, match="not in its closed set"):
        test_no_literal_drifts_from_its_closed_set("t", "SELECT 1 WHERE c.kind = 'profile'")
    test_no_literal_drifts_from_its_closed_set("t", "SELECT 1 WHERE c.outcome IN ('ok', 'not_modified')")
    seen = [
        m["col"] for _, sql in served_sql() for m in COMPARED.finditer(lexed(sql)[0]) if allowed(m["col"])
    ]
    assert {"kind", "severity", "verdict", "platform"} <= set(seen)  # the scan does read real SQL
