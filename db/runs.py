"""Runs: start, heartbeat, finish, the killed ones marked aborted, their problems, and which to trust."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlite_utils import Database

from core.clock import iso, now, now_iso
from core.enums import (
    NETWORK_OUTCOMES,
    CheckKind,
    OutcomeGroup,
    ProblemKind,
    RunStatus,
    Verdict,
    outcomes_in,
)
from core.items import HealthResult, RunProblem, RunSummary
from db.sql import in_list, quote

# A run on another machine whose heartbeat is older than this is taken to be dead.
STALE_AFTER = timedelta(hours=6)
CRAWLER_OUTCOMES = outcomes_in(OutcomeGroup.CRAWLER)
FAILED_OUTCOMES = outcomes_in(OutcomeGroup.UNAVAILABLE)
BLOCKED_OUTCOMES = outcomes_in(OutcomeGroup.BLOCKED)
# Fetches that say how the crawl went: a target's own pages, not the canaries and not the links checked
# for 错链死链 (a site with many dead links is a finding, not a crawler failing).
_HEALTH_KINDS = f"kind NOT IN ({quote(CheckKind.CANARY)}, {quote(CheckKind.LINK)})"


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


def run_summary(
    db: Database, run_id: int, *, stats: Mapping[str, Any] | None = None, planned: int | None = None
) -> RunSummary:
    """What a run fetched (from its checks), what it stored and raised (from its stats), and how the same
    spider's run before it ended."""
    stats = stats or {}
    summary = RunSummary(
        run_id,
        planned=planned,
        items=int(stats.get("item_scraped_count", 0)),
        exceptions=int(stats.get("spider_exceptions/count", 0)),
    )
    row = db.execute(
        f"SELECT count(*), coalesce(sum(outcome IN {in_list(FAILED_OUTCOMES)}), 0), "
        f"coalesce(sum(outcome IN {in_list(BLOCKED_OUTCOMES)}), 0), coalesce(sum(kind = ?), 0), "
        f"coalesce(sum(kind = ? AND ok = 0), 0) FROM checks WHERE run_id = ? AND target_id IS NOT NULL "
        f"AND {_HEALTH_KINDS} AND outcome NOT IN {in_list(CRAWLER_OUTCOMES)}",
        [CheckKind.PROBE.value, CheckKind.PROBE.value, run_id],
    ).fetchone()
    summary.checks, summary.failed_checks, summary.blocked_checks = int(row[0]), int(row[1]), int(row[2])
    summary.probes, summary.probes_failed = int(row[3]), int(row[4])
    previous = db.execute(
        "SELECT id, status FROM runs WHERE spider = (SELECT spider FROM runs WHERE id = ?) AND id < ? "
        "ORDER BY id DESC LIMIT 1",
        [run_id, run_id],
    ).fetchone()
    if previous is not None:
        summary.previous_run_id, summary.previous_status = int(previous[0]), previous[1]
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


def record_monitor_results(db: Database, run_id: int, results: Iterable[HealthResult], *, at: str) -> None:
    """The crawler-health monitors' answers for a run, one row per monitor."""
    db.conn.executemany(
        "INSERT INTO run_monitors (run_id, monitor, passed, detail, at) VALUES (?,?,?,?,?) "
        "ON CONFLICT (run_id, monitor) DO UPDATE SET passed = excluded.passed, detail = excluded.detail, "
        "at = excluded.at",
        [(run_id, r.monitor, int(r.passed), r.detail, at) for r in results],
    )


def report_runs(db: Database, run_ids: Iterable[int]) -> dict[str, Any]:
    """What a set of runs did, for the end-of-run summary: the runs, the targets they checked and their
    verdicts now (无法检查: could not be read), the finding events they caused by severity, their failed
    health monitors, the verdicts held."""
    ids = sorted(set(run_ids))
    marks = ", ".join("?" for _ in ids) or "NULL"
    runs = list(
        db.query(
            f"SELECT id, spider, status, trusted, started_at, finished_at, as_of, items FROM runs "
            f"WHERE id IN ({marks}) ORDER BY id",
            ids,
        )
    )
    checked = (
        f"SELECT DISTINCT target_id FROM checks WHERE run_id IN ({marks}) AND target_id IS NOT NULL "
        f"AND kind != {quote(CheckKind.CANARY)}"
    )
    targets = db.execute(f"SELECT count(*) FROM ({checked})", ids).fetchone()[0]
    verdicts = {
        verdict: int(n)
        for verdict, n in db.execute(
            f"SELECT coalesce(v.verdict, {quote(Verdict.UNCHECKED)}), count(*) FROM ({checked}) c "
            "LEFT JOIN verdicts v ON v.target_id = c.target_id GROUP BY 1",
            ids,
        )
    }
    events: dict[str, dict[str, int]] = {}
    for event, severity, count in db.execute(
        "SELECT e.event, f.severity, count(*) FROM finding_events e JOIN findings f ON f.id = e.finding_id "
        f"WHERE e.run_id IN ({marks}) GROUP BY e.event, f.severity",
        ids,
    ):
        events.setdefault(event, {})[severity] = int(count)
    failures = [
        dict(r)
        for r in db.query(
            "SELECT m.run_id, r.spider, m.monitor, m.detail FROM run_monitors m "
            f"JOIN runs r ON r.id = m.run_id "
            f"WHERE m.run_id IN ({marks}) AND m.passed = 0 ORDER BY m.run_id, m.id",
            ids,
        )
    ]
    monitored = db.execute(
        f"SELECT count(DISTINCT run_id), count(*) FROM run_monitors WHERE run_id IN ({marks})", ids
    ).fetchone()
    held = db.execute(
        f"SELECT count(*) FROM verdicts WHERE held = 1 AND detect_run_id IN ({marks})", ids
    ).fetchone()[0]
    return {
        "runs": runs,
        "targets": int(targets),
        "verdicts": verdicts,
        "events": events,
        "failures": failures,
        "monitored_runs": int(monitored[0]),
        "monitors": int(monitored[1]),
        "held": int(held),
    }
