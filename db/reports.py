"""SQL for the reports an office hands in (``scrapy report``): detection's verdicts and findings for a
region / level / 主办单位 and a period, as they are stored — nothing is recomputed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from core.enums import EvidenceKind, Severity
from db.sql import order_by_members, quote


@dataclass(frozen=True)
class ReportScope:
    region: str = ""  # a region name prefix, or a region code (the region and everything under it)
    level: str = ""
    org: str = ""  # part of the 主办单位
    since: str = ""  # YYYY-MM-DD: findings still open on or after this day
    until: str = ""  # YYYY-MM-DD: findings first seen on or before this day

    def params(self) -> dict[str, str]:
        return {
            "region": self.region,
            "level": self.level,
            "org": self.org,
            "since": self.since,
            "until": self.until,
        }


SCOPE = """t.active = 1
  AND (:region = '' OR t.region_name LIKE :region || '%'
       OR (:region GLOB '[0-9]*' AND t.region_code LIKE rtrim(:region, '0') || '%'))
  AND (:level = '' OR t.level = :level)
  AND (:org = '' OR t.org LIKE '%' || :org || '%')"""
# A finding belongs to the period when it was there at some time in it.
PERIOD = """(:until = '' OR substr(f.first_seen_at, 1, 10) <= :until)
  AND (:since = '' OR f.resolved_at IS NULL OR substr(f.resolved_at, 1, 10) >= :since)"""


def report_targets(db: Database, scope: ReportScope) -> list[dict[str, Any]]:
    """Every target in scope with detection's verdict (target_scores), by region, owner and name."""
    return list(
        db.query(
            "SELECT s.*, t.url, t.feed_url FROM target_scores s JOIN targets t ON t.id = s.target_id "
            f"WHERE {SCOPE} ORDER BY t.region_code, s.region_name, s.org, s.name, s.platform",
            scope.params(),
        )
    )


def report_findings(db: Database, scope: ReportScope) -> list[dict[str, Any]]:
    """Findings of targets in scope that were there during the period, most serious first, each with its
    newest kept capture (a screenshot before a page source)."""
    severity = order_by_members("f.severity", list(Severity))
    return list(
        db.query(
            "SELECT f.id, f.target_id, f.rule, coalesce(r.label, f.label, f.rule) AS label, "
            "coalesce(f.indicator, r.indicator) AS indicator, r.source, f.severity, f.subject, f.evidence, "
            "f.points, f.first_seen_at, f.last_seen_at, f.resolved_at, t.name, t.platform, t.org, "
            "t.region_code, t.region_name, t.level, "
            "(SELECT e.path FROM evidence e WHERE e.finding_id = f.id AND coalesce(e.path, '') != '' "
            f" ORDER BY e.kind = {quote(EvidenceKind.PNG)} DESC, e.id DESC LIMIT 1) AS capture "
            "FROM findings f JOIN targets t ON t.id = f.target_id "
            "LEFT JOIN finding_rules r ON r.rule = f.rule "
            f"WHERE {SCOPE} AND {PERIOD} "
            f"ORDER BY {severity}, f.rule, t.region_code, t.org, t.name, t.platform, f.first_seen_at",
            scope.params(),
        )
    )
