"""Send what changed since each channel was last told: one digest of veto findings opened and resolved,
and one notice of runs whose crawler health failed. Nothing changed, nothing sent; sent once, recorded.

Called after detection (a crawl's close, `scrapy detect`, the end of `scrapy crawlall`). A channel that
could not be reached is not recorded, so it gets the same news after the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlite_utils import Database

from alerts.channels import load_channels, send
from alerts.digest import FailedRun, FindingChange, compose_digest, compose_health, fold_changes
from core.clock import now_iso
from core.enums import NotificationKind
from db import notifications as q


@dataclass
class AlertReport:
    sent: list[str] = field(default_factory=list)  # "<title> → <masked channel>"
    failed: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not self.sent and not self.failed:
            return "nothing new to send"
        parts = [f"{len(self.sent)} sent"] + ([f"{len(self.failed)} failed"] if self.failed else [])
        return ", ".join(parts)


def send_alerts(db: Database, urls: Iterable[str], *, desk_url: str | None = None) -> AlertReport:
    report = AlertReport()
    for channel in load_channels(urls):
        changes = [FindingChange(**row) for row in q.pending_finding_events(db, channel.key)]
        if changes:
            opened, resolved = fold_changes(changes)
            title = ""
            delivered = True
            if opened or resolved:
                title, body = compose_digest(opened, resolved, desk_url=desk_url)
                delivered = send(channel, title, body)
                (report.sent if delivered else report.failed).append(f"{title} → {channel.masked}")
            if delivered:  # events that cancel out are recorded with the digest, and alone when alone
                with db.conn:
                    q.record_sent(
                        db,
                        channel=channel.key,
                        channel_url=channel.masked,
                        kind=NotificationKind.FINDING,
                        refs=[c.event_id for c in changes],
                        title=title,
                        sent_at=now_iso(),
                    )
        runs = q.pending_failed_runs(db, channel.key)
        if runs:
            failed = [
                FailedRun(
                    r["run_id"], r["spider"], r["finished_at"], bool(r["trusted"]), tuple(r["failures"])
                )
                for r in runs
            ]
            title, body = compose_health(failed, desk_url=desk_url)
            if send(channel, title, body):
                report.sent.append(f"{title} → {channel.masked}")
                with db.conn:
                    q.record_sent(
                        db,
                        channel=channel.key,
                        channel_url=channel.masked,
                        kind=NotificationKind.HEALTH,
                        refs=[r.run_id for r in failed],
                        title=title,
                        sent_at=now_iso(),
                    )
            else:
                report.failed.append(f"{title} → {channel.masked}")
    return report
