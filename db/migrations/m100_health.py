"""Crawler health and alerts: the monitors' answers per run, and what was sent to whom."""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m100_run_monitors(db: Database) -> None:
    # One row per (run, monitor): the crawler-health monitors run at each spider's close (Spidermon).
    db.table("run_monitors").create(
        {"id": int, "run_id": int, "monitor": str, "passed": int, "detail": str, "at": str},
        pk="id",
        not_null={"run_id", "monitor", "passed"},
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("run_monitors").create_index(["run_id", "monitor"], unique=True)
    db.table("run_monitors").create_index(["passed"])


@migrations()
def m100_notifications(db: Database) -> None:
    # What each alert channel was told: kind 'finding' refers to a finding_events row, 'health' to a run.
    # channel is a digest of the Apprise URL (never the URL: it holds tokens); channel_url is masked.
    db.table("notifications").create(
        {
            "id": int,
            "channel": str,
            "channel_url": str,
            "kind": str,
            "ref": int,
            "title": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"channel", "kind", "ref", "sent_at"},
    )
    db.table("notifications").create_index(["channel", "kind", "ref"], unique=True)
