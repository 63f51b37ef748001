"""Account rules (政务新媒体) as one pure function: what a target's stored facts say against the indicators.

``evaluate_account`` reads what the service collected for one account — its fetches in the latest run
that could judge it, its observed state, post aggregates, closure notices, successors — and returns
findings, the rules it could judge, and how much it could read. No pass without evidence: an account
whose fetches all failed, or that answered with nothing dated, is unread, never fine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.clock import iso, parse_iso
from core.enums import UNAVAILABLE_STATUSES, AccountStatus, CheckOutcome, Coverage, OutcomeGroup
from detection.rules.freshness import combine_gaps, is_stale, is_zombie, months_before
from detection.rules.notice import Notice
from detection.rules.result import CheckSummary, Evaluation

FRESHNESS_RULES = frozenset(
    {
        "account.no_update_14d",
        "account.zombie",
        "account.update_gaps",
        "account.idle_not_deregistered",
        "account.closure_notice",
        "account.migration_target_stale",
    }
)
CONTENT_RULES = frozenset(
    {
        "account.low_original",
        "account.repost_heavy",
        "account.poster_only",
        "account.meeting_heavy",
        "account.duplicate_posts",
    }
)
# duplicate_posts names at most this many of the other accounts sharing the posts, and counts them all.
MAX_LISTED_PEERS = 20
# States in which we could not look (a login or verification wall): nothing is concluded either way.
COULD_NOT_LOOK = frozenset({AccountStatus.BLOCKED, AccountStatus.LOGIN_REQUIRED})


@dataclass(frozen=True)
class Candidate:
    """A monitored target a notice's successor name or URL matches, and its newest dated content."""

    target_id: int
    name: str
    platform: str
    newest_at: str | None


@dataclass(frozen=True)
class Successor:
    name: str
    candidates: tuple[Candidate, ...]


@dataclass
class AccountFacts:
    platform: str
    name: str | None = None  # the target's name: a closure naming it (or only 本号) is its own
    checks: CheckSummary | None = None  # list-level fetches of the latest run that could judge it
    state: Mapping[str, Any] | None = None  # latest observed account state
    posts: Mapping[str, Any] | None = None  # aggregates: newest_at, window counts, year_posts…
    gaps: tuple[float, float, int, float] | None = None  # gaps between posts (see combine_gaps)
    notices: Sequence[tuple[Mapping[str, Any], Notice]] = ()  # closures in its posts, oldest first
    successors: Sequence[Successor] = ()  # the newest own notice's named successors that are targets
    # near-duplicate posts, posts, and the other accounts sharing them (ascending)
    duplicates: tuple[int, int, Sequence[int]] = (0, 0, ())


@dataclass
class AccountEvaluation(Evaluation):
    closure: tuple[str, str, str | None] | None = None  # (closing/closed, reason, notice URL)
    linked: list[dict[str, Any]] = field(default_factory=list)


def _days(a: datetime, b: datetime) -> float:
    return round((a - b).total_seconds() / 86400, 2)


def _julian(at: datetime) -> float:
    return at.timestamp() / 86400 + 2440587.5  # Julian day, as SQLite's julianday() counts


def _worst(failures: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return failures[0] if failures else None


def own_notices(
    notices: Sequence[tuple[Mapping[str, Any], Notice]], name: str | None
) -> list[tuple[Mapping[str, Any], Notice]]:
    """The closures that close the posting account itself: a post reporting other accounts' closures
    says nothing about the poster."""
    return [(p, n) for p, n in notices if n.is_about(name)]


def notice_evidence(post: Mapping[str, Any], n: Notice, as_of: datetime) -> dict[str, Any]:
    return {
        "post_id": post["post_id"],
        "url": post["url"],
        "title": post["title"],
        "posted_at": post["published_at"],
        "sentence": n.sentence,
        "subjects": n.subjects,
        "action": n.action,
        "effective_date": n.effective_date.isoformat(),
        "date_source": n.date_source,
        "shutdown_date": n.shutdown_date.isoformat() if n.shutdown_date else None,
        "status": n.account_state(as_of.date()),
        "state": n.state_on(as_of.date()),
        "migration_targets": [asdict(t) for t in n.migration_targets],
    }


def successor_tier(closing_platform: str, candidate: Candidate) -> int:
    """Which candidate a successor name means when names repeat across platforms:
    0 the closing account's own platform, 1 a portal, 2 any other platform."""
    if candidate.platform == closing_platform:
        return 0
    return 1 if candidate.platform == "portal" else 2


def evaluate_account(s: Mapping[str, Any], *, as_of: datetime, facts: AccountFacts) -> AccountEvaluation:
    """Findings for one account under the resolved rule settings ``s`` of its profile."""
    out = AccountEvaluation()
    checks, state, agg = facts.checks, facts.state, facts.posts
    if checks is None and agg is None and state is None:
        out.coverage, out.reason = Coverage.NEVER, "never checked"
        return out
    status = (state or {}).get("status")
    failures = checks.failures if checks else ()
    nothing_answered = checks is not None and checks.checks > 0 and checks.answered == 0
    groups = {CheckOutcome(f["outcome"]).group for f in failures}
    if status in UNAVAILABLE_STATUSES or (nothing_answered and OutcomeGroup.UNAVAILABLE in groups):
        failure = _worst(failures)
        out.scope.add("account.unavailable")
        out.add(
            "account.unavailable",
            {
                "status": status,
                "reason": (state or {}).get("status_reason") or (failure or {}).get("error"),
                "outcome": (failure or {}).get("outcome"),
                "http_status": (failure or {}).get("http_status"),
                "url": (failure or {}).get("url") or (state or {}).get("evidence_url"),
                "checked_at": (failure or {}).get("checked_at") or (state or {}).get("last_seen_at"),
            },
        )
        out.coverage = Coverage.UNREAD
        out.reason = f"账号无法访问 unavailable: {status or (failure or {}).get('outcome')}"
        return out
    if nothing_answered or (status in COULD_NOT_LOOK and not (checks and checks.answered)):
        failure = _worst(failures)
        out.coverage = Coverage.UNREAD
        out.reason = (
            f"被拦截 blocked: {(failure or {}).get('error') or (state or {}).get('status_reason') or status}"
        )
        return out  # a refusal to us says nothing about the account: nothing opened or resolved
    out.scope.add("account.unavailable")
    if failures:
        out.coverage = Coverage.PARTIAL
        out.reason = f"部分读取 partial: {len(failures)} of {checks.checks if checks else 0} fetches failed"
    newest = parse_iso(agg["newest_at"]) if agg and agg.get("newest_at") else None
    if newest is None and (state is None or state.get("posts_count") != 0):
        # An answer with nothing dated is missing data, not proof of silence: only an account page
        # saying it has 0 posts lets us call it a zombie.
        out.coverage, out.reason = Coverage.UNREAD, "无日期发文 no dated post was read"
        return out
    out.scope |= FRESHNESS_RULES | CONTENT_RULES
    own = own_notices(facts.notices, facts.name)
    closed = _closure_rules(s, as_of, facts, own, out)
    year_posts = (agg or {}).get("year_posts") or 0
    window_start = iso(as_of - timedelta(days=s["account.zombie"]["notice_only_window_days"]))
    year_notices = sum(1 for p, _ in own if p["published_at"] >= window_start)
    zombie_by_notice = bool(own) and 0 < year_posts <= year_notices
    if is_zombie(newest, as_of, s["account.zombie"]["months"]) or zombie_by_notice:
        out.add(
            "account.zombie",
            {
                "newest_post_at": iso(newest) if newest else None,
                "days_since": _days(as_of, newest) if newest else None,
                "since": iso(months_before(as_of, s["account.zombie"]["months"])),
                "only_closure_notices_in_year": zombie_by_notice,
            },
        )
    elif closed:
        pass  # a closed account is expected to be silent: judged by idle_not_deregistered instead
    elif is_stale(newest, as_of, s["account.no_update_14d"]["days"]):
        out.add(
            "account.no_update_14d",
            {
                "newest_post_at": iso(newest) if newest else None,
                "days_since": _days(as_of, newest) if newest else None,
                "days": s["account.no_update_14d"]["days"],
            },
        )
    else:
        g = s["account.update_gaps"]
        stats = combine_gaps(facts.gaps, _julian(as_of), g["max_gap_days"])
        if stats.gaps_over:
            out.add(
                "account.update_gaps",
                {
                    "longest_gap_days": stats.longest_days,
                    "days_out_of_compliance": stats.days_out_of_compliance,
                    "gaps_over": stats.gaps_over,
                    "max_gap_days": g["max_gap_days"],
                    "window_days": g["window_days"],
                },
                points=min(round(stats.days_out_of_compliance * g["points_per_day"], 2), g["cap"]),
            )
    if agg:
        _content_rules(s, agg, out)
    dup, posts, peers = facts.duplicates
    d = s["account.duplicate_posts"]
    if dup >= d["min_posts"] and posts and dup / posts >= d["min_share"]:
        out.add(
            "account.duplicate_posts",
            {
                "duplicate_posts": dup,
                "posts": posts,
                "share": round(dup / posts, 3),
                # the first ones by id, and how many: a 通稿 reposted by hundreds is named by its count
                "across_targets": list(peers[:MAX_LISTED_PEERS]),
                "across_targets_count": len(peers),
                "window_days": d["window_days"],
            },
        )
    return out


def _closure_rules(
    s: Mapping[str, Any],
    as_of: datetime,
    facts: AccountFacts,
    own: Sequence[tuple[Mapping[str, Any], Notice]],
    out: AccountEvaluation,
) -> bool:
    """The newest of the account's own closure notices decides its state; True when it is closed."""
    if not own:
        return False
    post, n = own[-1]
    ev = notice_evidence(post, n, as_of)
    status = n.account_state(as_of.date())
    ev["linked_targets"] = _successor_rules(s, as_of, facts, out)
    out.add("account.closure_notice", ev, subject=post["post_id"])
    out.closure = (status, f"{post['title'] or n.sentence}（{n.effective_date.isoformat()}起）", post["url"])
    idle = s["account.idle_not_deregistered"]
    effective = datetime.combine(n.effective_date, datetime.min.time(), tzinfo=as_of.tzinfo)
    closed = status == "closed"
    if closed and as_of - effective > timedelta(days=idle["after_days"]):
        out.add(
            "account.idle_not_deregistered",
            {
                "effective_date": ev["effective_date"],
                "days_since": _days(as_of, effective),
                "after_days": idle["after_days"],
                "notice_url": post["url"],
            },
        )
    return closed


def _successor_rules(
    s: Mapping[str, Any], as_of: datetime, facts: AccountFacts, out: AccountEvaluation
) -> list[dict[str, Any]]:
    """并入 verification: a named successor that is itself a target must be alive and updating.

    Names repeat across platforms (云川发布 is a feed, a WeChat account and a Weibo account). The
    successor is the best tier of the matching targets (same platform as the closing account, then a
    portal, then any other), alive when ANY target of that tier is alive; stale only when every one of
    them has data and none is alive. A candidate with no data at all is unknown, never stale.
    """
    links: list[dict[str, Any]] = []
    days = s["account.migration_target_stale"]["days"]
    for successor in facts.successors:
        if not successor.candidates:
            continue
        tier = {c.target_id: successor_tier(facts.platform, c) for c in successor.candidates}
        best = min(tier.values())
        chosen = []
        for c in sorted(successor.candidates, key=lambda c: (tier[c.target_id], c.target_id)):
            alive = None if c.newest_at is None else not is_stale(parse_iso(c.newest_at), as_of, days)
            link = {
                "target_id": c.target_id,
                "name": c.name,
                "platform": c.platform,
                "newest_at": c.newest_at,
                "alive": alive,
                "successor": tier[c.target_id] == best,
            }
            links.append(link)
            if link["successor"]:
                chosen.append(link)
        if chosen and all(c["alive"] is False for c in chosen):
            first = chosen[0]
            out.add(
                "account.migration_target_stale",
                {
                    "successor_target_id": first["target_id"],
                    "successor": first["name"],
                    "platform": first["platform"],
                    "newest_at": max(str(c["newest_at"]) for c in chosen),
                    "candidates": [c["target_id"] for c in chosen],
                    "days": days,
                },
                subject=str(first["target_id"]),
            )
    out.linked = links
    return links


def _content_rules(s: Mapping[str, Any], agg: Mapping[str, Any], out: AccountEvaluation) -> None:
    n = agg["window_posts"] or 0
    lo = s["account.low_original"]
    known = agg["window_known_original"] or 0
    share = (agg["window_original"] or 0) / known if known else None
    if (known >= lo["min_posts"] and share is not None and share < lo["min_share"]) or (
        lo["min_per_month"] and (agg["month_original"] or 0) < lo["min_per_month"]
    ):
        out.add(
            "account.low_original",
            {
                "original_share": round(share, 3) if share is not None else None,
                "posts": known,
                "originals_last_30_days": agg["month_original"] or 0,
                "min_share": lo["min_share"],
                "min_per_month": lo["min_per_month"],
            },
        )
    for rule_id, key in (
        ("account.repost_heavy", "window_reposts"),
        ("account.poster_only", "window_posters"),
        ("account.meeting_heavy", "window_meetings"),
    ):
        r = s[rule_id]
        k = agg[key] or 0
        if n >= r["min_posts"] and k / n >= r["max_share"]:
            out.add(
                rule_id,
                {
                    "matching": k,
                    "posts": n,
                    "share": round(k / n, 3),
                    "max_share": r["max_share"],
                    "window_days": r["window_days"],
                },
            )
