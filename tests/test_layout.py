"""Data flows one way, and the imports say so: each package imports only the layers below it.

core → db → detection.rules (pure, core only) → detection (service, health) → spiders / pipelines →
crawler;
no product package imports the demo world or the tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

PRODUCT = ("core", "db", "detection", "evidence", "alerts", "spiders", "pipelines", "crawler")
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "db": {"core"},
    "detection.rules": {"core"},
    "detection": {"core", "db", "detection.rules"},
    "spiders": {"core", "db", "detection.rules"},  # the rules file says how far back a board is read
    "evidence": {"core", "db"},  # fetches and photographs a finding's pages after detection
    "alerts": {"core", "db"},  # digests of what detection opened and resolved, sent through Apprise
    "pipelines": {"core", "db", "detection", "detection.rules", "evidence", "alerts"},
    "crawler": {"core", "db", "detection", "detection.rules", "evidence", "alerts", "spiders", "pipelines"},
    "demo": {"core", "db"},
}


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "detection" and len(parts) > 1 and parts[1] == "rules":
        return "detection.rules"
    return parts[0]


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def modules() -> list[Path]:
    return sorted(p for pkg in (*PRODUCT, "demo") for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layers(path: Path) -> None:
    own = layer(".".join(path.relative_to(ROOT).with_suffix("").parts))
    for module in imports(path):
        other = layer(module)
        if other == own or other not in (*ALLOWED, "tests", "bench"):
            continue
        assert other in ALLOWED[own], f"{path.relative_to(ROOT)} ({own}) imports {module} ({other})"


def test_pure_rules_import_neither_scrapy_nor_sql() -> None:
    for path in sorted((ROOT / "detection" / "rules").glob("*.py")):
        heavy = {
            m for m in imports(path) if m.split(".")[0] in ("scrapy", "sqlite3", "sqlite_utils", "twisted")
        }
        assert not heavy, f"{path.name} imports {heavy}"


def test_only_db_writes_sql() -> None:
    """SQL statements live in db/: other packages call its functions."""
    for pkg in ("core", "detection", "spiders", "pipelines"):
        for path in (ROOT / pkg).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for verb in ("INSERT INTO", "UPDATE ", "DELETE FROM", "CREATE TABLE", "SELECT "):
                assert verb not in text, f"{path.relative_to(ROOT)} holds SQL ({verb.strip()})"
