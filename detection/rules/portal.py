"""Portal rules over what the portal spider recorded: availability, freshness, blank columns, messages, links.

No conclusion from missing data: an unreachable/parse_failed column is neither stale nor blank, a
site whose latest probe failed gets no homepage or column findings, and a message whose board shows
neither a status word nor a reply date is not an unanswered one (the check is partial, and says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from core.clock import parse_iso
from core.enums import AnswerState, ColumnStatus, Coverage
from detection.rules.freshness import is_stale, months_before
from detection.rules.result import Evaluation, Finding


def _at(text: str | None) -> datetime | None:
    return _parsed(text) if text else None


@lru_cache(maxsize=1024)  # a column's newest item and a message's date are each read by two rules in a row
def _parsed(text: str) -> datetime:
    return parse_iso(text)


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


UNANSWERED = "unanswered"
UNKNOWN = "unknown"


def judge_message(m: Mapping[str, Any], s: Mapping[str, Any], as_of: datetime) -> str | None:
    """UNANSWERED when the message counts for portal.unanswered_message, UNKNOWN when it is old enough
    to count but its board shows neither an answer nor an open status, else None.

    It counts when its board is of a kind the rule covers, it was asked in the window and before the
    limit (``months`` before as_of), and it is open by its status word or was answered later than the
    limit after it was asked. A status that says answered is an answer even with no reply date shown.
    """
    rule = s["portal.unanswered_message"]
    asked = _at(m.get("asked_at"))
    kind = m.get("board_kind")
    if asked is None or (kind is not None and kind not in rule["board_kinds"]):
        return None
    limit = months_before(as_of, rule["months"])
    if asked < as_of - timedelta(days=rule["window_days"]) or asked >= limit:
        return None
    answered = _at(m.get("answered_at"))
    if answered is not None:  # a reply date shown: answered, in time or late
        return UNANSWERED if answered - asked > as_of - limit else None
    state = m.get("answer_state") or AnswerState.UNKNOWN
    if state == AnswerState.OPEN:
        return UNANSWERED
    return UNKNOWN if state == AnswerState.UNKNOWN else None


def board_notes(
    columns: Sequence[Mapping[str, Any]], unknown: Sequence[Mapping[str, Any]], s: Mapping[str, Any]
) -> list[str]:
    """Why the unanswered-message check is partial: boards of the rule's kinds not read back far enough,
    and messages old enough to count whose answer cannot be told."""
    kinds = s["portal.unanswered_message"]["board_kinds"]
    notes = []
    cut = [c for c in columns if c.get("board_kind") in kinds and c.get("truncated")]
    if cut:
        where = ", ".join(
            f"{c['url']} ({c.get('pages_followed')} pages, back to {(c.get('oldest_item_at') or '?')[:10]})"
            for c in cut
        )
        notes.append(f"留言板未读完 {len(cut)} board(s) not read back far enough: {where}")
    if unknown:
        notes.append(
            f"留言答复情况不明 {len(unknown)} message(s) old enough to count show no status word "
            "and no reply date"
        )
    return notes


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
    unknown = []
    for m in messages:
        verdict = judge_message(m, s, as_of)
        if verdict == UNKNOWN:
            unknown.append(m)
        if verdict != UNANSWERED:
            continue
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
                    "status": m.get("status"),
                    "answer_state": m.get("answer_state"),
                    "days_open": round((as_of - asked) / timedelta(days=1), 1) if asked else None,
                },
                subject=str(m["message_id"]),
            )
        )
    notes = board_notes(columns, unknown, s)
    if notes:
        out.coverage = Coverage.PARTIAL
        out.reason = "; ".join([*([out.reason] if out.reason else []), *notes])
    return out
