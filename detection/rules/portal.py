"""Portal rules over what the portal spider recorded: availability, freshness, blank columns, messages, links.

No conclusion from missing data: an unreachable/parse_failed column is neither stale nor blank, and a
site whose latest probe failed gets no homepage or column findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from core.clock import parse_iso
from core.enums import ColumnStatus, Coverage
from detection.rules.freshness import is_stale, months_before
from detection.rules.result import Evaluation, Finding


def _at(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def failed_share(probes: Mapping[str, Any] | None) -> float | None:
    if not probes or not probes.get("probes"):
        return None
    return (probes.get("failed") or 0) / probes["probes"]


def is_column_stale(column: Mapping[str, Any], s: Mapping[str, Any], as_of: datetime) -> str | None:
    """Why an `ok` column is stale ('news' / 'notice'), or None; undated items count as not updated."""
    if column.get("status") != ColumnStatus.OK:
        return None
    rule = s["portal.column_stale"]
    newest = _at(column.get("newest_item_at"))
    if column.get("kind") in rule["news_kinds"]:
        return "news" if is_stale(newest, as_of, rule["news_days"]) else None
    if column.get("kind") in rule["notice_kinds"]:
        return "notice" if newest is None or newest < months_before(as_of, rule["notice_months"]) else None
    return None


def is_column_long_stale(column: Mapping[str, Any], s: Mapping[str, Any], as_of: datetime) -> bool:
    rule = s["portal.long_stale_columns"]
    if column.get("status") != ColumnStatus.OK or column.get("kind") not in rule["kinds"]:
        return False
    return is_stale(_at(column.get("newest_item_at")), as_of, rule["days"])


def is_homepage_stale(site: Mapping[str, Any], days: int, as_of: datetime) -> bool | None:
    """True/False, or None when the homepage showed no items at all (nothing to judge)."""
    newest = _at(site.get("homepage_newest_at"))
    if newest is None and not (site.get("homepage_undated") or site.get("homepage_items")):
        return None
    return is_stale(newest, as_of, days)


def evaluate_portal(
    s: Mapping[str, Any],
    *,
    as_of: datetime,
    probes: Mapping[str, Any] | None,
    site: Mapping[str, Any] | None,
    columns: Sequence[Mapping[str, Any]],
    dead_links: Sequence[Mapping[str, Any]],
    messages: Sequence[Mapping[str, Any]],
) -> Evaluation:
    out = Evaluation()
    add = out.findings.append
    share = failed_share(probes)
    if share is not None and probes is not None and probes["probes"] >= s["portal.unreachable"]["min_probes"]:
        out.scope |= {"portal.unreachable", "portal.unreachable_warn"}
        ev = {
            "probes": probes["probes"],
            "failed": probes["failed"],
            "failed_share": round(share, 4),
            "window_days": s["portal.unreachable"]["window_days"],
        }
        if share >= s["portal.unreachable"]["max_failed_share"]:
            add(Finding("portal.unreachable", ev))
        elif share >= s["portal.unreachable_warn"]["max_failed_share"]:
            add(Finding("portal.unreachable_warn", ev))
    reachable = probes is None or probes.get("latest_ok", 1) == 1
    if probes is None and site is None:
        out.coverage, out.reason = Coverage.NEVER, "never checked"
        return out
    if not reachable:
        out.coverage = Coverage.UNREAD
        out.reason = f"首页无法打开 homepage did not open: {probes.get('latest_outcome') if probes else '?'}"
        return out  # we could not look at the site: no freshness, column or link conclusions
    if site is None:
        out.coverage, out.reason = Coverage.UNREAD, "首页未读取 the homepage answered but was not read"
        return out
    out.scope |= {
        "portal.homepage_stale",
        "portal.invalid_site_id_code",
        "portal.dead_link_homepage",
        "portal.dead_links",
        "portal.unanswered_message",
    }
    days = s["portal.homepage_stale"]["days"]
    if is_homepage_stale(site, days, as_of):
        add(
            Finding(
                "portal.homepage_stale",
                {
                    "homepage_url": site.get("homepage_url"),
                    "newest_at": site.get("homepage_newest_at"),
                    "items": site.get("homepage_items"),
                    "undated": site.get("homepage_undated"),
                    "days": days,
                },
            )
        )
    if site.get("site_id_code_valid") == 0 or (
        site.get("site_id_code_valid") is None and not site.get("site_id_code")
    ):
        add(
            Finding(
                "portal.invalid_site_id_code",
                {"site_id_code": site.get("site_id_code")},
                points=s["portal.invalid_site_id_code"]["points"],
            )
        )
    if columns:
        out.scope |= {
            "portal.column_stale",
            "portal.columns_stale",
            "portal.long_stale_columns",
            "portal.blank_column",
            "portal.blank_columns",
        }
    unread = [c for c in columns if c.get("status") in (ColumnStatus.UNREACHABLE, ColumnStatus.PARSE_FAILED)]
    if unread:
        out.coverage = Coverage.PARTIAL
        out.reason = f"部分读取 partial: {len(unread)} of {len(columns)} columns could not be read"
    stale, long_stale, blank = [], [], []
    for c in columns:
        ev = {
            "name": c.get("name"),
            "kind": c.get("kind"),
            "newest_item_at": c.get("newest_item_at"),
            "items": c.get("item_count"),
            "undated": c.get("undated_count"),
        }
        if (why := is_column_stale(c, s, as_of)) is not None:
            stale.append(c["url"])
            add(Finding("portal.column_stale", {**ev, "because": why}, subject=c["url"]))
        if is_column_long_stale(c, s, as_of):
            long_stale.append(c["url"])
        if c.get("status") == ColumnStatus.BLANK:
            blank.append(c["url"])
            add(Finding("portal.blank_column", ev, subject=c["url"]))
    for rule_id, urls in (
        ("portal.columns_stale", stale),
        ("portal.long_stale_columns", long_stale),
        ("portal.blank_columns", blank),
    ):
        if len(urls) >= s[rule_id]["min_count"]:
            add(Finding(rule_id, {"count": len(urls), "min_count": s[rule_id]["min_count"], "columns": urls}))
    homepages = {site.get("homepage_url"), site.get("final_url")} - {None}
    home = [d for d in dead_links if d.get("found_on") in homepages]
    other = [d for d in dead_links if d.get("found_on") not in homepages]
    per_home = s["portal.dead_link_homepage"]["points"]
    for d in home:
        add(
            Finding(
                "portal.dead_link_homepage",
                {
                    "url": d["url"],
                    "found_on": d.get("found_on"),
                    "outcome": d.get("outcome"),
                    "http_status": d.get("http_status"),
                },
                subject=d["url"],
                points=per_home,
            )
        )
    if other:
        each = s["portal.dead_links"]["points_each"]
        add(
            Finding(
                "portal.dead_links",
                {
                    "count": len(other),
                    "links": [
                        {"url": d["url"], "found_on": d.get("found_on"), "outcome": d.get("outcome")}
                        for d in other[:50]
                    ],
                },
                points=round(min(len(other) * each, s["portal.dead_links"]["cap"]), 2),
            )
        )
    for m in messages:
        asked = _at(m.get("asked_at"))
        add(
            Finding(
                "portal.unanswered_message",
                {
                    "title": m.get("title"),
                    "url": m.get("url"),
                    "board_url": m.get("board_url"),
                    "asked_at": m.get("asked_at"),
                    "answered_at": m.get("answered_at") or None,
                    "days_open": round((as_of - asked) / timedelta(days=1), 1) if asked else None,
                },
                subject=str(m["message_id"]),
            )
        )
    return out
