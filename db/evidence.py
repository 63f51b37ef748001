"""SQL for evidence captures: which findings still need one, what is stored, and recording new ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from core.enums import FindingEvent, Severity
from db.sql import in_list, quote

# Events after which a finding's pages are captured: it opened, came back, or its evidence changed.
CAPTURED_EVENTS = in_list((FindingEvent.OPENED, FindingEvent.REOPENED, FindingEvent.CHANGED))
# The folder beside the database that holds the captured files (evidence/<sha[:2]>/<sha>.<kind>).
EVIDENCE_DIR = "evidence"
EVIDENCE_COLUMNS = (
    "finding_id",
    "event_id",
    "run_id",
    "url",
    "final_url",
    "kind",
    "path",
    "sha256",
    "bytes",
    "content_type",
    "http_status",
    "truncated",
    "error",
    "captured_at",
)


def evidence_dir(db_path: str | Path) -> Path:
    """The evidence/ folder beside the database file."""
    return Path(db_path).resolve().parent / EVIDENCE_DIR


def relative_path(sha256: str, kind: str) -> str:
    return f"{sha256[:2]}/{sha256}.{kind}"


def pending_captures(
    db: Database,
    *,
    severities: Iterable[str],
    run_id: int | None = None,
    finding_ids: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Open findings of these severities whose latest opening/change has no capture yet (with ``run_id``:
    only those whose latest such event is that run's), most serious first."""
    where, params = "", []
    if run_id is not None:
        where += " AND e.run_id = ?"
        params.append(run_id)
    if finding_ids is not None:
        where += f" AND f.id IN ({', '.join('?' for _ in finding_ids)})"
        params.extend(finding_ids)
    return list(
        db.query(
            "SELECT f.id AS finding_id, e.id AS event_id, e.run_id, f.target_id, f.rule, f.severity, "
            "f.subject, f.evidence, t.platform, t.url AS target_url, t.feed_url, "
            # an account's newest post shows how old its newest content is
            "(SELECT p.url FROM posts p WHERE p.target_id = f.target_id AND p.is_pinned = 0 "
            " ORDER BY p.published_at DESC LIMIT 1) AS newest_post_url "
            "FROM findings f JOIN targets t ON t.id = f.target_id "
            "JOIN finding_events e ON e.id = (SELECT max(x.id) FROM finding_events x "
            f"  WHERE x.finding_id = f.id AND x.event IN {CAPTURED_EVENTS}) "
            f"WHERE f.resolved_at IS NULL AND f.severity IN {in_list(severities)} "
            "AND NOT EXISTS (SELECT 1 FROM evidence v WHERE v.finding_id = f.id AND v.event_id = e.id)"
            f"{where} ORDER BY f.severity = {quote(Severity.DEDUCTION)}, f.id",
            params,
        )
    )


def stored_bytes(db: Database) -> int:
    """Bytes of every stored file (a file shared by several captures counts once)."""
    row = db.execute(
        "SELECT coalesce(sum(bytes), 0) FROM (SELECT DISTINCT sha256, bytes FROM evidence "
        "WHERE path IS NOT NULL AND path != '')"
    ).fetchone()
    return int(row[0])


def record_captures(db: Database, rows: Iterable[Mapping[str, Any]]) -> int:
    rows = list(rows)
    db.conn.executemany(
        f"INSERT INTO evidence ({', '.join(EVIDENCE_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in EVIDENCE_COLUMNS)})",
        [[r.get(c) for c in EVIDENCE_COLUMNS] for r in rows],
    )
    return len(rows)
