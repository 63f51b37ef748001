"""The alert texts, in Chinese: a digest of veto findings opened and resolved, and a crawler-health notice.

Pure functions over rows the service reads (db/notifications.py); nothing here sends or stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.enums import HealthCheck, Platform

PLATFORM_NAMES = {
    Platform.PORTAL: "政府网站",
    Platform.WECHAT: "微信公众号",
    Platform.WEIBO: "微博",
    Platform.FEED: "订阅源",
    Platform.DOUYIN: "抖音",
    Platform.TOUTIAO: "今日头条",
    Platform.BILIBILI: "哔哩哔哩",
    Platform.CHANNELS: "视频号",
}
CHECK_NAMES = {
    HealthCheck.OUTPUT: "无抓取结果",
    HealthCheck.ERRORS: "错误比例过高",
    HealthCheck.BLOCKED: "被拦截比例过高",
    HealthCheck.REACHABILITY: "网络不通",
    HealthCheck.BROWSER: "缺少浏览器",
    HealthCheck.CREDENTIALS: "缺少登录凭据",
    HealthCheck.PREVIOUS_RUN: "上次运行未完成",
}
# Evidence keys that hold the page an inspector should open, most specific first.
LINK_KEYS = ("url", "evidence_url", "post_url", "board_url", "column_url", "homepage_url", "found_on")
MAX_LINES = 30  # findings listed per section; the rest are counted and left to the desk


@dataclass(frozen=True)
class FindingChange:
    event_id: int
    finding_id: int
    event: str  # opened / reopened / resolved
    target: str
    platform: str
    label: str
    indicator: str | None
    subject: str
    evidence: str | None  # JSON, as stored
    target_url: str | None


@dataclass(frozen=True)
class FailedRun:
    run_id: int
    spider: str
    finished_at: str | None
    trusted: bool
    failures: tuple[tuple[str, str], ...]  # (monitor, detail)


def evidence_link(evidence: str | Mapping[str, Any] | None) -> str | None:
    """The page behind a finding: the first link-like value of its evidence."""
    data = json.loads(evidence) if isinstance(evidence, str) else evidence
    if not isinstance(data, Mapping):
        return None
    for key in LINK_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    for value in data.values():
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


def fold_changes(changes: Iterable[FindingChange]) -> tuple[list[FindingChange], list[FindingChange]]:
    """(opened, resolved) from the events not yet sent, one line per finding, by its latest event: a
    finding opened and resolved again before anything was sent says nothing new."""
    by_finding: dict[int, list[FindingChange]] = {}
    for c in sorted(changes, key=lambda c: c.event_id):
        by_finding.setdefault(c.finding_id, []).append(c)
    opened, resolved = [], []
    for events in by_finding.values():
        last = events[-1]
        if last.event != "resolved":
            opened.append(last)
        elif not any(e.event != "resolved" for e in events):
            resolved.append(last)
    return opened, resolved


def _lines(changes: Sequence[FindingChange], desk_url: str | None) -> list[str]:
    out = []
    for n, c in enumerate(changes[:MAX_LINES], 1):
        where = (
            PLATFORM_NAMES.get(Platform(c.platform), c.platform)
            if c.platform in set(Platform)
            else c.platform
        )
        subject = f"（{c.subject}）" if c.subject else ""
        out.append(f"{n}. {c.target}（{where}）")
        out.append(f"   指标：{c.indicator or c.label} — {c.label}{subject}")
        link = evidence_link(c.evidence) or c.target_url
        if link:
            out.append(f"   证据：{link}")
        if desk_url:
            out.append(f"   详情：{desk_url.rstrip('/')}/monitor/findings/{c.finding_id}")
    if len(changes) > MAX_LINES:
        out.append(f"……另有 {len(changes) - MAX_LINES} 项，见巡检台。")
    return out


def compose_digest(
    opened: Sequence[FindingChange], resolved: Sequence[FindingChange], *, desk_url: str | None = None
) -> tuple[str, str]:
    """(title, body) of the digest of veto (单项否决) findings opened and resolved."""
    title = f"巡检提醒：新增单项否决问题 {len(opened)} 项，已整改 {len(resolved)} 项"
    body = [f"政务新媒体与政府网站巡检：新增单项否决问题 {len(opened)} 项，已整改 {len(resolved)} 项。"]
    if opened:
        body += ["", "【新增】", *_lines(opened, desk_url)]
    if resolved:
        body += ["", "【已整改】", *_lines(resolved, desk_url)]
    if desk_url:
        body += ["", f"巡检台：{desk_url}"]
    return title, "\n".join(body)


def compose_health(runs: Sequence[FailedRun], *, desk_url: str | None = None) -> tuple[str, str]:
    """(title, body) of the notice that runs failed their crawler-health checks."""
    title = f"巡检爬虫运行异常：{len(runs)} 次运行未通过健康检查"
    body = [
        "以下运行未通过爬虫健康检查。这是爬虫一侧的问题，不是被检查对象的问题：",
        "受影响的对象不据此新增或整改问题，沿用上次判定。",
    ]
    for r in runs[:MAX_LINES]:
        scope = "整次运行暂不作为依据" if not r.trusted else "仅受影响的对象暂不作为依据"
        body += ["", f"• 运行 {r.run_id} · {r.spider} · {r.finished_at or '未完成'}（{scope}）"]
        for monitor, detail in r.failures:
            name = CHECK_NAMES.get(HealthCheck(monitor), monitor) if monitor in set(HealthCheck) else monitor
            body.append(f"  - {name} {monitor}：{detail}")
    if len(runs) > MAX_LINES:
        body.append(f"……另有 {len(runs) - MAX_LINES} 次运行，见巡检台。")
    if desk_url:
        body += ["", f"运行状况：{desk_url.rstrip('/')}/monitor/crawler_health"]
    return title, "\n".join(body)
