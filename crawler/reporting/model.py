"""What a report says, assembled from detection's verdicts and findings (db/reports.py): totals and 合格率
by region, level and owner, the 不合格 targets with the indicator they failed, each indicator's findings."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from core.clock import now_iso
from core.enums import Severity, Verdict
from core.labels import EVIDENCE_LABELS, NO, YES, label
from db.desk.cells import format_time
from db.reports import ReportScope, report_findings, report_targets
from evidence.pages import is_http_url, pages_for

TITLE = "政务新媒体与政府网站检查情况通报"


@dataclass
class Tally:
    """Targets and their verdicts in one group; 合格率 is of the targets that could be checked."""

    name: str
    targets: int = 0
    qualified: int = 0
    unqualified: int = 0
    unchecked: int = 0

    @property
    def checkable(self) -> int:
        return self.targets - self.unchecked

    @property
    def pass_rate(self) -> float | None:
        return round(100 * self.qualified / self.checkable, 1) if self.checkable else None

    def add(self, verdict: str) -> None:
        self.targets += 1
        self.qualified += verdict == Verdict.QUALIFIED
        self.unqualified += verdict == Verdict.UNQUALIFIED
        self.unchecked += verdict == Verdict.UNCHECKED


@dataclass
class Indicator:
    rule: str
    label: str
    indicator: str
    severity: str
    source: str | None
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def targets(self) -> int:
        return len({f["target_id"] for f in self.findings})

    @property
    def open(self) -> int:
        return sum(f["resolved_at"] is None for f in self.findings)


@dataclass
class Report:
    scope: ReportScope
    generated_at: str
    as_of: str | None
    targets: list[dict[str, Any]]
    total: Tally
    by_region: list[Tally]
    by_level: list[Tally]
    by_org: list[Tally]
    failing: list[dict[str, Any]]
    indicators: list[Indicator]
    desk_url: str | None = None

    @property
    def title(self) -> str:
        return TITLE

    @property
    def scope_text(self) -> str:
        parts = [
            f"地区：{self.scope.region}" if self.scope.region else "地区：全部",
            f"层级：{self.scope.level}" if self.scope.level else "",
            f"主办单位：{self.scope.org}" if self.scope.org else "",
        ]
        if self.scope.since or self.scope.until:
            parts.append(f"时段：{self.scope.since or '开始'} 至 {self.scope.until or '今'}")
        return "；".join(p for p in parts if p)


def evidence_text(raw: str | None) -> str:
    """A finding's evidence as one line an inspector reads (labels in Chinese, times as 2026-06-30 12:00)."""
    if not raw:
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(data, Mapping):
        return str(data)

    def show(value: Any) -> str:
        if isinstance(value, bool):
            return YES if value else NO
        if isinstance(value, list):
            return "、".join(show(v) for v in value) or "（无）"
        if isinstance(value, Mapping):
            return "，".join(
                f"{EVIDENCE_LABELS.get(k, k)} {show(v)}" for k, v in value.items() if v not in (None, "")
            )
        return format_time(value) if isinstance(value, str) else str(value)

    return "；".join(
        f"{EVIDENCE_LABELS.get(k, k)}：{show(v)}" for k, v in data.items() if v not in (None, "", [])
    )


def evidence_link(finding: Mapping[str, Any]) -> str | None:
    """The page the evidence names (an http(s) URL), if any."""
    pages = pages_for({"evidence": finding.get("evidence"), "subject": finding.get("subject")}, limit=1)
    return pages[0] if pages and is_http_url(pages[0]) else None


def _tallies(targets: Iterable[Mapping[str, Any]], key: str, empty: str) -> list[Tally]:
    groups: dict[str, Tally] = {}
    for t in targets:
        name = t[key] or empty
        groups.setdefault(name, Tally(name)).add(t["verdict"])
    return list(groups.values())


def build_report(db: Database, scope: ReportScope, *, desk_url: str | None = None) -> Report:
    targets = report_targets(db, scope)
    findings = report_findings(db, scope)
    base = desk_url.rstrip("/") if desk_url else None
    for f in findings:
        f["severity_label"] = label("severity", f["severity"])
        f["platform_label"] = label("platform", f["platform"])
        f["state_label"] = "未整改" if f["resolved_at"] is None else "已整改"
        f["evidence_text"] = evidence_text(f["evidence"])
        f["evidence_link"] = evidence_link(f)
        f["card_url"] = f"{base}/monitor/findings/{f['id']}" if base else None
    total = Tally("合计")
    for t in targets:
        total.add(t["verdict"])
        t["platform_label"] = label("platform", t["platform"])
    open_by_target: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for f in findings:
        if f["resolved_at"] is None:
            open_by_target[f["target_id"]].append(f)
    failing = []
    for t in targets:
        if t["verdict"] != Verdict.UNQUALIFIED:
            continue
        mine = open_by_target.get(t["target_id"], [])
        vetoes = [f for f in mine if f["severity"] == Severity.VETO]
        reasons = vetoes or [f for f in mine if f["severity"] == Severity.DEDUCTION]
        failing.append(
            {
                **t,
                "reasons": reasons,
                "reason_text": "；".join(dict.fromkeys(f"{f['label']}（{f['indicator']}）" for f in reasons))
                or (t["veto_labels"] or f"得分 {t['score']}"),
                "basis": "单项否决" if vetoes else f"得分 {t['score']}（扣分 {t['deductions']}）",
            }
        )
    indicators: dict[str, Indicator] = {}
    for f in findings:
        ind = indicators.setdefault(
            f["rule"], Indicator(f["rule"], f["label"], f["indicator"] or "", f["severity"], f["source"])
        )
        ind.findings.append(f)
    as_of = max((t["as_of"] for t in targets if t["as_of"]), default=None)
    return Report(
        scope=scope,
        generated_at=now_iso(),
        as_of=as_of,
        targets=targets,
        total=total,
        by_region=_tallies(targets, "region_name", "（未填地区）"),
        by_level=_tallies(targets, "level", "（未填层级）"),
        by_org=_tallies(targets, "org", "（未填主办单位）"),
        failing=failing,
        indicators=list(indicators.values()),
        desk_url=base,
    )
