"""Detection stage: turn stored posts, checks, columns and messages into findings (and run at crawl end).

`detect(db, ...)` reads per-target aggregates through db/detection.py, applies the pure rules in
detection/rules/, and syncs the findings lifecycle. DetectPipeline (priority 300) runs it on spider
close for the targets the spider crawled, when MONITOR_DETECT_ON_CLOSE is on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

import db as store
from core.clock import iso, now_iso, parse_iso
from db import detection as q
from detection.rules.config import RuleSet, load_rules
from detection.rules.freshness import combine_gaps, is_stale, is_zombie, months_before
from detection.rules.notice import Notice, classify_notice, notice_from_json, notice_to_json
from detection.rules.quality import cluster_near_duplicates, simhash

UNAVAILABLE_OUTCOMES = {
    "gone",
    "login_required",
    "blocked",
    "not_found",
    "http_error",
    "server_error",
    "timeout",
    "dns_error",
    "refused",
    "tls_error",
    "connection_error",
    # answered, but nothing readable (broken XML, not the page expected): we could not look either
    "malformed",
}
UNAVAILABLE_STATUSES = {"deleted", "banned", "blocked", "login_required", "unreachable", "migrated"}
ACCOUNT_FRESHNESS = {
    "account.no_update_14d",
    "account.zombie",
    "account.update_gaps",
    "account.idle_not_deregistered",
    "account.closure_notice",
    "account.migration_target_stale",
}
ACCOUNT_CONTENT = {
    "account.low_original",
    "account.repost_heavy",
    "account.poster_only",
    "account.meeting_heavy",
    "account.duplicate_posts",
}
PORTAL_SITE = {"portal.homepage_stale", "portal.invalid_site_id_code"}
PORTAL_COLUMNS = {
    "portal.column_stale",
    "portal.columns_stale",
    "portal.long_stale_columns",
    "portal.blank_column",
    "portal.blank_columns",
}


@dataclass
class DetectSummary:
    run_id: int
    as_of: str
    targets: int
    findings: int
    by_rule: dict[str, int] = field(default_factory=dict)
    lifecycle: dict[str, int] = field(default_factory=dict)
    hashed_posts: int = 0
    seconds: float = 0.0


class _Collector:
    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.found: list[dict[str, Any]] = []
        self.scope: dict[int, set[str]] = defaultdict(set)

    def add(
        self,
        target: dict[str, Any],
        profile: str,
        rule_id: str,
        evidence: dict[str, Any],
        *,
        subject: str = "",
        points: float | None = None,
    ) -> None:
        meta = self.rules.resolved(profile)[rule_id]
        if points is None and meta["severity"] == "deduction":
            points = meta.get("points")
        self.found.append(
            {
                "target_id": target["id"],
                "rule": rule_id,
                "subject": subject,
                "label": meta["label"],
                "severity": meta["severity"],
                "indicator": meta["indicator"],
                "evidence": evidence,
                "points": points,
                "profile": profile,
            }
        )


def _days(a: datetime, b: datetime) -> float:
    return round((a - b).total_seconds() / 86400, 2)


def _notice_evidence(post: dict[str, Any], n: Notice, as_of: datetime) -> dict[str, Any]:
    return {
        "post_id": post["post_id"],
        "url": post["url"],
        "title": post["title"],
        "posted_at": post["published_at"],
        "sentence": n.sentence,
        "subject": n.subject,
        "action": n.action,
        "effective_date": n.effective_date.isoformat(),
        "date_source": n.date_source,
        "shutdown_date": n.shutdown_date.isoformat() if n.shutdown_date else None,
        "status": n.status(as_of.date()),
        "migration_targets": [asdict(t) for t in n.targets],
    }


def detect(
    database: Database,
    *,
    as_of: datetime,
    rules: RuleSet | None = None,
    profile: str | None = None,
    target_ids: Sequence[int] | None = None,
    run_id: int | None = None,
) -> DetectSummary:
    """Evaluate every rule for the targets (all active ones by default) and sync the findings.

    With ``run_id`` (a crawl's run, when detection runs at its end) the findings are attributed to
    that run; otherwise a `detect` run is recorded.
    """
    started = datetime.now().astimezone()
    rules = rules or load_rules()
    as_of_iso = iso(as_of)
    own_run = run_id is None
    if run_id is None:
        run_id = store.start_run(database, spider="detect", started_at=now_iso(), as_of=as_of_iso)
    q.write_rules(database, rules.rules)
    targets = q.load_detect_targets(database, target_ids)
    ids = [t["id"] for t in targets] if target_ids is not None else None
    col = _Collector(rules)
    accounts = [t for t in targets if t["platform"] != "portal"]
    portals = [t for t in targets if t["platform"] == "portal"]
    hashed = 0
    closures: list[tuple[int, str, str, str | None]] = []
    if accounts:
        hashed = _detect_accounts(database, col, accounts, as_of, profile, ids, closures)
    if portals:
        _detect_portals(database, col, portals, as_of, profile, ids)
    with database.conn:
        for target_id, status, reason, url in closures:
            q.record_closure_state(
                database,
                target_id=target_id,
                status=status,
                reason=reason,
                evidence_url=url,
                at=as_of_iso,
                run_id=run_id,
            )
        lifecycle = q.sync_findings(
            database, found=col.found, scope=col.scope, as_of=as_of_iso, run_id=run_id
        )
    by_rule: dict[str, int] = defaultdict(int)
    for f in col.found:
        by_rule[f["rule"]] += 1
    elapsed = (datetime.now().astimezone() - started).total_seconds()
    summary = DetectSummary(
        run_id,
        as_of_iso,
        len(targets),
        len(col.found),
        dict(sorted(by_rule.items())),
        lifecycle,
        hashed,
        round(elapsed, 3),
    )
    if own_run:
        store.finish_run(
            database,
            run_id,
            finished_at=now_iso(),
            reason="finished",
            stats={"item_scraped_count": len(col.found), "monitor/detect": asdict(summary)},
        )
    database.conn.commit()
    return summary


def _detect_accounts(
    database: Database,
    col: _Collector,
    accounts: list[dict[str, Any]],
    as_of: datetime,
    override: str | None,
    ids: Sequence[int] | None,
    closures: list[tuple[int, str, str, str | None]],
) -> int:
    base = col.rules.resolved(col.rules.default_profile)
    profiles = {t["id"]: col.rules.profile_for(t, override) for t in accounts}
    settings = {p: col.rules.resolved(p) for p in set(profiles.values())}
    as_of_iso = iso(as_of)
    as_of_jd = as_of.timestamp() / 86400 + 2440587.5  # Julian day, as SQLite's julianday() counts
    lookback = max(s["account.closure_notice"]["lookback_days"] for s in settings.values())
    year_days = base["account.zombie"]["notice_only_window_days"]
    poster = base["account.poster_only"]
    checks = q.latest_checks(database, base["account.unavailable"]["check_kinds"], ids)
    articles = q.latest_article_checks(database, ids)
    states = q.latest_account_states(database, ids)
    aggs = q.post_aggregates(
        database,
        as_of=as_of_iso,
        window_start=iso(as_of - timedelta(days=base["account.repost_heavy"]["window_days"])),
        year_start=iso(as_of - timedelta(days=year_days)),
        max_text_length=poster["max_text_length"],
        meeting_words=base["account.meeting_heavy"]["title_words"],
        target_ids=ids,
    )
    gap_settings = {
        (x["account.update_gaps"]["window_days"], x["account.update_gaps"]["max_gap_days"])
        for x in settings.values()
    }
    gaps = {
        (window, max_gap): q.gap_aggregates(
            database,
            since=iso(as_of - timedelta(days=window)),
            as_of=as_of_iso,
            max_gap_days=max_gap,
            target_ids=ids,
        )
        for window, max_gap in gap_settings
    }
    since_notice = iso(as_of - timedelta(days=lookback))

    def judge(post: dict[str, Any]) -> str | None:
        n = classify_notice(post["title"], post["text"], parse_iso(post["published_at"]))
        return notice_to_json(n) if n is not None else None

    with database.conn:
        q.classify_new_posts(database, since=since_notice, classify=judge, target_ids=ids)
    notices: dict[int, list[tuple[dict[str, Any], Notice]]] = defaultdict(list)
    for post in q.stored_notices(database, since=since_notice, as_of=as_of_iso, target_ids=ids):
        notices[post["target_id"]].append((post, notice_from_json(post["notice"])))
    dup_days = base["account.duplicate_posts"]["window_days"]
    with database.conn:
        hashed = q.update_simhashes(database, since=iso(as_of - timedelta(days=dup_days)), compute=simhash)
    hashes = q.simhashes(database, since=iso(as_of - timedelta(days=dup_days)), as_of=as_of_iso)
    clusters = cluster_near_duplicates(
        ((pid, h) for pid, _, h in hashes), base["account.duplicate_posts"]["max_hamming"]
    )
    post_target = {pid: tid for pid, tid, _ in hashes}
    members: dict[int, list[int]] = defaultdict(list)
    for pid, root in clusters.items():
        members[root].append(pid)
    dup_posts: dict[int, int] = defaultdict(int)
    dup_peers: dict[int, set[int]] = defaultdict(set)
    window_counts: dict[int, int] = defaultdict(int)
    for _, tid, _ in hashes:
        window_counts[tid] += 1
    for group in members.values():
        tids = {post_target[p] for p in group}
        for p in group:
            dup_posts[post_target[p]] += 1
            dup_peers[post_target[p]] |= tids - {post_target[p]}

    for t in accounts:
        tid, profile = t["id"], profiles[t["id"]]
        s = settings[profile]
        check, state, agg = checks.get(tid), states.get(tid), aggs.get(tid)
        art = articles.get(tid)
        if check is None and art is not None and not art["ok"] and "failed" in art:
            # Known only by article URLs (no list-level source) and none of them could be read: the
            # failed article page is the account-level check (deleted, banned, verification wall).
            check = art["failed"]
        if check is None and agg is None and state is None:
            continue  # never crawled: no conclusion
        col.scope[tid].add("account.unavailable")
        bad_state = state is not None and state["status"] in UNAVAILABLE_STATUSES
        bad_check = check is not None and check["outcome"] in UNAVAILABLE_OUTCOMES
        if bad_state or bad_check:
            col.add(
                t,
                profile,
                "account.unavailable",
                {
                    "status": state["status"] if state else None,
                    "reason": (state or {}).get("status_reason") or (check or {}).get("error"),
                    "outcome": check["outcome"] if check else None,
                    "http_status": check["http_status"] if check else None,
                    "url": (check or {}).get("url") or (state or {}).get("evidence_url"),
                    "checked_at": (check or {}).get("checked_at") or (state or {}).get("last_seen_at"),
                },
            )
            continue  # never judged stale: we could not look
        if check is not None and check["outcome"] not in ("ok", "not_modified"):
            continue  # malformed or unknown answer: nothing can be concluded this run
        newest = parse_iso(agg["newest_at"]) if agg and agg["newest_at"] else None
        if newest is None and (state is None or state.get("posts_count") != 0):
            # A feed that answered with nothing dated is missing data, not proof of silence: only an
            # account page saying it has 0 posts lets us call it a zombie.
            continue
        col.scope[tid] |= ACCOUNT_FRESHNESS | ACCOUNT_CONTENT
        # Closure notices: the newest one decides the account's state.
        closed = False
        found = notices.get(tid, [])
        if found:
            post, n = found[-1]
            ev = _notice_evidence(post, n, as_of)
            status = n.status(as_of.date())
            closed = status == "closed"
            ev.update(_migration_check(database, col, t, profile, n, as_of, s))
            col.add(t, profile, "account.closure_notice", ev, subject=post["post_id"])
            closures.append(
                (
                    tid,
                    status,
                    f"{post['title'] or n.sentence}（{n.effective_date.isoformat()}起）",
                    post["url"],
                )
            )
            idle = s["account.idle_not_deregistered"]
            effective = datetime.combine(n.effective_date, datetime.min.time(), tzinfo=as_of.tzinfo)
            if closed and as_of - effective > timedelta(days=idle["after_days"]):
                col.add(
                    t,
                    profile,
                    "account.idle_not_deregistered",
                    {
                        "effective_date": ev["effective_date"],
                        "days_since": _days(as_of, effective),
                        "after_days": idle["after_days"],
                        "notice_url": post["url"],
                    },
                )
        year_posts = (agg or {}).get("year_posts") or 0
        year_notices = sum(
            1
            for p, _ in found
            if p["published_at"]
            >= iso(as_of - timedelta(days=s["account.zombie"]["notice_only_window_days"]))
        )
        zombie_by_notice = bool(found) and year_posts > 0 and year_posts <= year_notices
        stale_days = s["account.no_update_14d"]["days"]
        if is_zombie(newest, as_of, s["account.zombie"]["months"]) or zombie_by_notice:
            col.add(
                t,
                profile,
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
        elif is_stale(newest, as_of, stale_days):
            col.add(
                t,
                profile,
                "account.no_update_14d",
                {
                    "newest_post_at": iso(newest) if newest else None,
                    "days_since": _days(as_of, newest) if newest else None,
                    "days": stale_days,
                },
            )
        else:
            g = s["account.update_gaps"]
            stats = combine_gaps(
                gaps[(g["window_days"], g["max_gap_days"])].get(tid), as_of_jd, g["max_gap_days"]
            )
            if stats.gaps_over:
                col.add(
                    t,
                    profile,
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
            _content_rules(col, t, profile, s, agg)
        n_window = window_counts.get(tid, 0)
        d = s["account.duplicate_posts"]
        if (
            dup_posts.get(tid, 0) >= d["min_posts"]
            and n_window
            and dup_posts[tid] / n_window >= d["min_share"]
        ):
            col.add(
                t,
                profile,
                "account.duplicate_posts",
                {
                    "duplicate_posts": dup_posts[tid],
                    "posts": n_window,
                    "share": round(dup_posts[tid] / n_window, 3),
                    "across_targets": sorted(dup_peers[tid]),
                    "window_days": d["window_days"],
                },
            )
    return hashed


def _content_rules(
    col: _Collector, t: dict[str, Any], profile: str, s: dict[str, Any], agg: dict[str, Any]
) -> None:
    n = agg["window_posts"] or 0
    lo = s["account.low_original"]
    known = agg["window_known_original"] or 0
    share = (agg["window_original"] or 0) / known if known else None
    if (known >= lo["min_posts"] and share is not None and share < lo["min_share"]) or (
        lo["min_per_month"] and (agg["month_original"] or 0) < lo["min_per_month"]
    ):
        col.add(
            t,
            profile,
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
            col.add(
                t,
                profile,
                rule_id,
                {
                    "matching": k,
                    "posts": n,
                    "share": round(k / n, 3),
                    "max_share": r["max_share"],
                    "window_days": r["window_days"],
                },
            )


def _successor_tier(closing: dict[str, Any], candidate: dict[str, Any]) -> int:
    """Which candidate a notice's successor name means when names repeat across platforms:
    0 the closing account's own platform, 1 a portal, 2 any other platform."""
    if candidate["platform"] == closing["platform"]:
        return 0
    return 1 if candidate["platform"] == "portal" else 2


def _migration_check(
    database: Database,
    col: _Collector,
    t: dict[str, Any],
    profile: str,
    n: Notice,
    as_of: datetime,
    s: dict[str, Any],
) -> dict[str, Any]:
    """并入 verification: a named successor that is itself a target must be alive and updating.

    Names repeat across platforms (云川发布 is a feed, a WeChat account and a Weibo account). Every
    target a successor name or URL matches is listed in ``linked_targets``; the successor is the best
    tier of them (same platform as the closing account, then a portal, then any other platform), and
    it is alive when ANY target of that tier is alive. It is judged stale only when every one of them
    has data and none is alive; a candidate with no data at all is unknown, never stale.
    """
    links = []
    days = s["account.migration_target_stale"]["days"]
    for mt in n.targets:
        candidates = [
            other
            for other in q.find_targets_by_name_or_url(database, mt.name, mt.url)
            if other["id"] != t["id"]
        ]
        if not candidates:
            continue
        best = min(_successor_tier(t, c) for c in candidates)
        chosen = []
        for other in sorted(candidates, key=lambda c: (_successor_tier(t, c), c["id"])):
            newest = q.newest_content_at(database, other["id"], iso(as_of))
            alive = None if newest is None else not is_stale(parse_iso(newest), as_of, days)
            link = {
                "target_id": other["id"],
                "name": other["name"],
                "platform": other["platform"],
                "newest_at": newest,
                "alive": alive,
                "successor": _successor_tier(t, other) == best,
            }
            links.append(link)
            if link["successor"]:
                chosen.append(link)
        if chosen and all(c["alive"] is False for c in chosen):
            first = chosen[0]
            col.add(
                t,
                profile,
                "account.migration_target_stale",
                {
                    "successor_target_id": first["target_id"],
                    "successor": first["name"],
                    "platform": first["platform"],
                    "newest_at": max(c["newest_at"] for c in chosen),
                    "candidates": [c["target_id"] for c in chosen],
                    "days": days,
                },
                subject=str(first["target_id"]),
            )
    return {"linked_targets": links}


def _detect_portals(
    database: Database,
    col: _Collector,
    portals: list[dict[str, Any]],
    as_of: datetime,
    override: str | None,
    ids: Sequence[int] | None,
) -> None:
    from detection.rules import portal as pr

    base = col.rules.resolved(col.rules.default_profile)
    as_of_iso = iso(as_of)
    probes = q.portal_probe_stats(
        database,
        since=iso(as_of - timedelta(days=base["portal.unreachable"]["window_days"])),
        as_of=as_of_iso,
        target_ids=ids,
    )
    sites = q.portal_sites(database, ids)
    columns = q.portal_columns(database, ids)
    links = q.dead_links(database, ids)
    um = base["portal.unanswered_message"]
    messages: dict[int, list[dict]] = defaultdict(list)
    for m in q.open_messages(
        database,
        kinds=um["board_kinds"],
        since=iso(as_of - timedelta(days=um["window_days"])),
        older_than=iso(months_before(as_of, um["months"])),
        max_days=(as_of - months_before(as_of, um["months"])).total_seconds() / 86400,
        target_ids=ids,
    ):
        messages[m["target_id"]].append(m)
    for t in portals:
        tid = t["id"]
        profile = col.rules.profile_for(t, override)
        s = col.rules.resolved(profile)
        result = pr.evaluate_portal(
            s,
            as_of=as_of,
            probes=probes.get(tid),
            site=sites.get(tid),
            columns=columns.get(tid, []),
            dead_links=links.get(tid, []),
            messages=messages.get(tid, []),
        )
        col.scope[tid] |= result.scope
        for f in result.findings:
            col.add(t, profile, f.rule, f.evidence, subject=f.subject, points=f.points)
