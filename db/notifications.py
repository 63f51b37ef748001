"""What the alert channels have not been told yet, and the record of what they were told."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from core.enums import NotificationKind, Severity
from db.sql import quote

# The finding events an office is told about: a veto opened (or opened again) and a veto resolved.
ALERT_EVENTS = ("opened", "reopened", "resolved")


def pending_finding_events(db: Database, channel: str) -> list[dict[str, Any]]:
    """Veto finding events this channel has not been sent, oldest first."""
    events = ", ".join(quote(e) for e in ALERT_EVENTS)
    return list(
        db.query(
            "SELECT e.id AS event_id, e.finding_id, e.event, t.name AS target, t.platform, f.label, "
            "f.indicator, f.subject, coalesce(e.evidence, f.evidence) AS evidence, "
            "coalesce(t.url, t.feed_url) AS target_url "
            "FROM finding_events e JOIN findings f ON f.id = e.finding_id "
            "JOIN targets t ON t.id = e.target_id "
            f"WHERE f.severity = {quote(Severity.VETO)} AND e.event IN ({events}) AND NOT EXISTS ("
            " SELECT 1 FROM notifications n WHERE n.channel = ? AND n.kind = ? AND n.ref = e.id) "
            "ORDER BY e.id",
            [channel, NotificationKind.FINDING.value],
        )
    )


def pending_failed_runs(db: Database, channel: str) -> list[dict[str, Any]]:
    """Runs with a failed health monitor this channel has not been told about, oldest first, each with
    its failures as (monitor, detail) rows."""
    runs = list(
        db.query(
            "SELECT r.id AS run_id, r.spider, r.finished_at, coalesce(r.trusted, 0) AS trusted FROM runs r "
            "WHERE EXISTS (SELECT 1 FROM run_monitors m WHERE m.run_id = r.id AND m.passed = 0) "
            "AND NOT EXISTS (SELECT 1 FROM notifications n "
            " WHERE n.channel = ? AND n.kind = ? AND n.ref = r.id) "
            "ORDER BY r.id",
            [channel, NotificationKind.HEALTH.value],
        )
    )
    for run in runs:
        run["failures"] = [
            (m["monitor"], m["detail"] or "")
            for m in db.query(
                "SELECT monitor, detail FROM run_monitors WHERE run_id = ? AND passed = 0 ORDER BY id",
                [run["run_id"]],
            )
        ]
    return runs


def record_sent(
    db: Database,
    *,
    channel: str,
    channel_url: str,
    kind: NotificationKind,
    refs: Iterable[int],
    title: str,
    sent_at: str,
) -> None:
    db.conn.executemany(
        "INSERT INTO notifications (channel, channel_url, kind, ref, title, sent_at) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT (channel, kind, ref) DO NOTHING",
        [(channel, channel_url, kind.value, ref, title, sent_at) for ref in refs],
    )
