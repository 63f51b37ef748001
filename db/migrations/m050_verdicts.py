"""Verdicts and the crawler's own problems: run lifecycle, run problems, verdicts, detection errors."""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m050_run_lifecycle(db: Database) -> None:
    # status running / finished / aborted; pid + host + heartbeat tell a live run from a killed one;
    # trusted = 1 when the run's data may open or resolve findings (no offline / aborted problem).
    runs = db.table("runs")
    for column, kind in (
        ("status", str),
        ("pid", int),
        ("host", str),
        ("heartbeat_at", str),
        ("trusted", int),
    ):
        runs.add_column(column, kind)
    db.execute("UPDATE runs SET status = 'finished', trusted = 1 WHERE finished_at IS NOT NULL")
    db.execute("UPDATE runs SET status = 'running' WHERE finished_at IS NULL")
    runs.create_index(["status"])


@migrations()
def m050_run_problems(db: Database) -> None:
    # Problems on the crawler's side (offline, no browser, no credentials, aborted), recorded per run.
    db.table("run_problems").create(
        {"id": int, "run_id": int, "problem": str, "detail": str, "count": int, "blocks_trust": int},
        pk="id",
        not_null={"run_id", "problem"},
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("run_problems").create_index(["run_id", "problem"], unique=True)


@migrations()
def m050_verdicts(db: Database) -> None:
    # One row per target: detection's verdict from the latest run that could judge it.
    db.table("verdicts").create(
        {
            "target_id": int,
            "verdict": str,  # 合格 / 不合格 / 无法检查
            "score": float,
            "coverage": str,  # read / partial / unread / never
            "reason": str,  # why it could not be checked, or what was partial
            "vetoes": int,
            "veto_labels": str,
            "deductions": float,
            "infos": int,
            "breakdown": str,  # JSON {rule: points after its cap}
            "judged_run_id": int,  # the crawl run whose data was judged
            "detect_run_id": int,
            "as_of": str,
            "held": int,  # 1: the latest run had a crawler-side problem for this target; verdict kept
            "note": str,
            "updated_at": str,
        },
        pk="target_id",
        not_null={"verdict", "coverage"},
        defaults={"held": 0, "vetoes": 0, "deductions": 0, "infos": 0},
        foreign_keys=[("target_id", "targets", "id")],
    )
    db.table("verdicts").create_index(["verdict"])


@migrations()
def m050_detect_errors(db: Database) -> None:
    # A rule that raised: recorded with what it was judging; every other rule and target still judged.
    db.table("detect_errors").create(
        {"id": int, "run_id": int, "target_id": int, "rule": str, "post_id": str, "error": str, "at": str},
        pk="id",
        not_null={"run_id", "rule", "error"},
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("detect_errors").create_index(["run_id"])


@migrations()
def m050_check_kinds(db: Database) -> None:
    # Check kinds say what a fetch was for: a portal's column list is `column`, a WeChat HTML list is
    # `listing`, a Weibo long-text expansion belongs to its post (`article`), not to the account's list.
    db.execute(
        "UPDATE checks SET kind = 'column' WHERE kind = 'page' "
        "AND target_id IN (SELECT id FROM targets WHERE platform = 'portal')"
    )
    db.execute(
        "UPDATE checks SET kind = 'listing' WHERE kind = 'page' "
        "AND target_id IN (SELECT id FROM targets WHERE platform = 'wechat')"
    )
    db.execute("UPDATE checks SET kind = 'article' WHERE kind = 'api' AND url LIKE '%/statuses/extend%'")
    db.table("checks").create_index(["kind", "target_id", "run_id", "outcome"], if_not_exists=True)
