"""What a finding's card and a target's card show: the SQL behind them, nothing recomputed.

A finding card reads the finding, its target and owner, its rule's official wording (finding_rules), its
history (finding_events), its captures (evidence) and the target's verdict (target_scores). A target card
reads detection's verdict with its coverage and reason, the capped deductions (score_breakdown), the
open findings and the latest checks. ``execute`` is the desk's own read-only query function.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from core.enums import CheckKind, EvidenceKind, Severity
from db.sql import order_by_members, quote

Execute = Callable[[str, Sequence[Any]], Awaitable[list[dict[str, Any]]]]

SEVERITY_ORDER = order_by_members("f.severity", list(Severity))
RECENT_CHECKS = 20


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


async def _one(execute: Execute, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
    rows = await execute(sql, params)
    return rows[0] if rows else None


async def finding_card(execute: Execute, finding_id: int) -> dict[str, Any] | None:
    finding = await _one(
        execute,
        "SELECT f.*, t.name AS target_name, t.org, t.platform, t.region_name, t.region_code, t.level, "
        "t.url AS target_url, t.feed_url, r.label AS rule_label, r.label_en, r.indicator AS rule_indicator, "
        "r.source, r.measured, r.points AS rule_points, r.points_unit, r.cap "
        "FROM findings f JOIN targets t ON t.id = f.target_id LEFT JOIN finding_rules r ON r.rule = f.rule "
        "WHERE f.id = ?",
        [finding_id],
    )
    if finding is None:
        return None
    finding["evidence_data"] = _json(finding["evidence"])
    events = await execute(
        "SELECT e.id, e.event, e.at, e.run_id, e.evidence, r.spider FROM finding_events e "
        "LEFT JOIN runs r ON r.id = e.run_id WHERE e.finding_id = ? ORDER BY e.id DESC",
        [finding_id],
    )
    for e in events:
        e["evidence_data"] = _json(e.pop("evidence"))
    captures = await execute(
        "SELECT id, event_id, url, final_url, kind, path, sha256, bytes, content_type, http_status, "
        "truncated, error, captured_at FROM evidence WHERE finding_id = ? ORDER BY event_id DESC, id",
        [finding_id],
    )
    score = await _one(
        execute,
        "SELECT verdict, score, coverage, reason, held, note FROM target_scores WHERE target_id = ?",
        [finding["target_id"]],
    )
    post = await _one(
        execute,
        "SELECT id, title, url, published_at FROM posts WHERE target_id = ? AND post_id = ?",
        [finding["target_id"], finding["subject"]],
    )
    return {
        "finding": finding,
        "events": events,
        "captures": _by_event(captures),
        "score": score,
        "post": post,
    }


def _by_event(captures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Captures grouped per finding event (newest first), each page's source and screenshot together."""
    groups: dict[int | None, dict[str, dict[str, Any]]] = {}
    for c in captures:
        pages = groups.setdefault(c["event_id"], {})
        page = pages.setdefault(c["url"], {"url": c["url"], "captured_at": c["captured_at"]})
        page[EvidenceKind(c["kind"]).value] = c
    return [{"event_id": event_id, "pages": list(pages.values())} for event_id, pages in groups.items()]


async def target_card(execute: Execute, target_id: int) -> dict[str, Any] | None:
    target = await _one(execute, "SELECT * FROM targets WHERE id = ?", [target_id])
    if target is None:
        return None
    score = await _one(execute, "SELECT * FROM target_scores WHERE target_id = ?", [target_id])
    breakdown = await execute(
        "SELECT rule, label, indicator, points FROM score_breakdown WHERE target_id = ? ORDER BY points DESC",
        [target_id],
    )
    findings = await execute(
        "SELECT f.id, f.rule, coalesce(r.label, f.label, f.rule) AS label, f.severity, f.subject, f.points, "
        "f.first_seen_at, f.last_seen_at, f.resolved_at, "
        "(SELECT count(*) FROM evidence v WHERE v.finding_id = f.id AND v.path IS NOT NULL) AS captures "
        "FROM findings f LEFT JOIN rules r ON r.id = f.rule WHERE f.target_id = ? "
        f"ORDER BY f.resolved_at IS NOT NULL, {SEVERITY_ORDER}, f.first_seen_at DESC LIMIT 200",
        [target_id],
    )
    # the target's own fetches (feed, API, homepage probe, columns…); its link checks are the dead links
    # the latest fetch of each kind first (a busy board's many message pages never hide the homepage
    # probe), then the most recent others
    checks = await execute(
        "SELECT kind, url, outcome, http_status, latency_ms, error, checked_at, run_id FROM ("
        " SELECT c.*, row_number() OVER (PARTITION BY c.kind ORDER BY c.checked_at DESC, c.id DESC) AS nth"
        f" FROM checks c WHERE c.target_id = ? AND c.kind != {quote(CheckKind.LINK)}"
        " ORDER BY c.checked_at DESC, c.id DESC LIMIT 500)"
        " ORDER BY nth > 1, checked_at DESC LIMIT ?",
        [target_id, RECENT_CHECKS],
    )
    dead_links = await execute(
        "SELECT url, found_on, outcome, http_status, checked_at FROM dead_links WHERE target_id = ? "
        "ORDER BY found_on, url LIMIT ?",
        [target_id, RECENT_CHECKS],
    )
    account = await _one(
        execute,
        "SELECT status, status_reason, evidence_url, name, followers, last_seen_at FROM accounts "
        "WHERE target_id = ? ORDER BY last_seen_at DESC, id DESC LIMIT 1",
        [target_id],
    )
    site = await _one(execute, "SELECT * FROM sites WHERE target_id = ?", [target_id])
    newest = await _one(
        execute,
        "SELECT title, url, published_at FROM posts WHERE target_id = ? AND is_pinned = 0 "
        "ORDER BY published_at DESC LIMIT 1",
        [target_id],
    )
    return {
        "target": target,
        "score": score,
        "breakdown": breakdown,
        "open_findings": [f for f in findings if f["resolved_at"] is None],
        "resolved_findings": [f for f in findings if f["resolved_at"] is not None][:20],
        "checks": checks,
        "dead_links": dead_links,
        "account": account,
        "site": site,
        "newest_post": newest,
    }
