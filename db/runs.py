"""Runs: start, heartbeat, finish, the killed ones marked aborted, their problems, and which to trust."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlite_utils import Database

from core.clock import iso, now, now_iso
from core.enums import NETWORK_OUTCOMES, CheckKind, OutcomeGroup, ProblemKind, RunStatus, outcomes_in
from core.items import RunProblem, RunSummary
from db.sql import in_list

# A run on another machine whose heartbeat is older than this is taken to be dead.
STALE_AFTER = timedelta(hours=6)
CRAWLER_OUTCOMES = outcomes_in(OutcomeGroup.CRAWLER)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_abandoned_runs(db: Database) -> list[int]:
    """Mark runs that stopped without finishing as aborted: their process is gone (this machine), or
    their heartbeat is older than STALE_AFTER (another machine, or a run recorded before pids were)."""
    host = socket.gethostname()
    cutoff = iso(now() - STALE_AFTER)
    dead = []
    for row in db.query(
        "SELECT id, pid, host, coalesce(heartbeat_at, started_at) AS beat FROM runs WHERE status = ?",
        [RunStatus.RUNNING.value],
    ):
        if row["id"] is None:
            continue
        gone = not _alive(row["pid"]) if row["host"] == host and row["pid"] else row["beat"] < cutoff
        if gone:
            dead.append(row["id"])
    for run_id in dead:
        db.execute(
            "UPDATE runs SET status = ?, trusted = 0, finish_reason = coalesce(finish_reason, 'aborted') "
            "WHERE id = ? AND status = ?",
            [RunStatus.ABORTED.value, run_id, RunStatus.RUNNING.value],
        )
        record_problems(
            db,
            run_id,
            [
                RunProblem(
                    ProblemKind.ABORTED, "the run stopped without finishing (killed or crashed)", 1, True
                )
            ],
        )
    return dead


def start_run(db: Database, *, spider: str, started_at: str, as_of: str | None) -> int:
    """A new run row (after marking runs that died without finishing as aborted)."""
    with db.conn:
        mark_abandoned_runs(db)
        cur = db.execute(
            "INSERT INTO runs (spider, started_at, as_of, status, pid, host, heartbeat_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                spider,
                started_at,
                as_of,
                RunStatus.RUNNING.value,
                os.getpid(),
                socket.gethostname(),
                started_at,
            ],
        )
    return int(cur.lastrowid or 0)


def heartbeat(db: Database, run_id: int) -> None:
    db.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", [now_iso(), run_id])


def finish_run(db: Database, run_id: int, *, finished_at: str, reason: str, stats: Mapping[str, Any]) -> None:
    from db import to_json

    db.execute(
        "UPDATE runs SET finished_at = ?, finish_reason = ?, status = ?, heartbeat_at = ?, items = ?, "
        "requests = ?, responses = ?, errors = ?, stats = ? WHERE id = ?",
        [
            finished_at,
            reason,
            RunStatus.FINISHED.value,
            finished_at,
            stats.get("item_scraped_count", 0),
            stats.get("downloader/request_count", 0),
            stats.get("downloader/response_count", 0),
            stats.get("log_count/ERROR", 0),
            to_json(dict(stats)),
            run_id,
        ],
    )


def record_problems(db: Database, run_id: int, problems: Iterable[RunProblem]) -> None:
    for p in problems:
        db.execute(
            "INSERT INTO run_problems (run_id, problem, detail, count, blocks_trust) VALUES (?,?,?,?,?) "
            "ON CONFLICT (run_id, problem) DO UPDATE SET detail = excluded.detail, count = excluded.count, "
            "blocks_trust = excluded.blocks_trust",
            [run_id, str(p.problem), p.detail, p.count, int(p.blocks_trust)],
        )


def set_trust(db: Database, run_id: int) -> bool:
    """trusted = no problem that blocks trust; returns it."""
    blocked = db.execute(
        "SELECT count(*) FROM run_problems WHERE run_id = ? AND blocks_trust = 1", [run_id]
    ).fetchone()[0]
    db.execute("UPDATE runs SET trusted = ? WHERE id = ?", [int(not blocked), run_id])
    return not blocked


def run_summary(db: Database, run_id: int) -> RunSummary:
    summary = RunSummary(run_id)
    network = in_list(NETWORK_OUTCOMES)
    row = db.execute(
        "SELECT count(*), coalesce(sum(all_network), 0) FROM ("
        f" SELECT target_id, min(outcome IN {network}) AS all_network FROM checks"
        " WHERE run_id = ? AND target_id IS NOT NULL AND kind != ?"
        f" AND outcome NOT IN {in_list(CRAWLER_OUTCOMES)} GROUP BY target_id)",
        [run_id, CheckKind.CANARY.value],
    ).fetchone()
    summary.targets, summary.network_failed_targets = int(row[0]), int(row[1])
    row = db.execute(
        "SELECT count(*), coalesce(sum(ok = 0), 0) FROM checks WHERE run_id = ? AND kind = ?",
        [run_id, CheckKind.CANARY.value],
    ).fetchone()
    summary.canaries, summary.canaries_failed = int(row[0]), int(row[1])
    for outcome, count, example in db.execute(
        f"SELECT outcome, count(*), min(error) FROM checks WHERE run_id = ? "
        f"AND outcome IN {in_list(CRAWLER_OUTCOMES)} GROUP BY outcome",
        [run_id],
    ):
        summary.crawler_outcomes[outcome] = int(count)
        summary.crawler_examples[outcome] = example or ""
    return summary
