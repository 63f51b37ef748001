"""Detection as a service: collect each target's facts (db/detection.py), evaluate them with the pure
rules (detection/rules/), and sync findings and verdicts in one transaction.

A target whose latest run was not evidence — offline, aborted, or every fetch needed a browser or
credentials the crawler lacked — is held: nothing is opened or resolved for it, and its verdict stays
with a note. A rule that raises is recorded in ``detect_errors`` for that target (and post); every
other rule and target is still judged.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlite_utils import Database

from core.clock import iso, now_iso
from core.enums import ACCOUNT_LIST_KINDS, CheckKind, CheckOutcome, OutcomeGroup, Platform
from db import database_file, open_db, runs, to_json
from db import detection as q
from detection.features import hash_window_start, notice_of, text_simhash
from detection.post_facts import Clusters, FactWindows, PostFactsRead, reuse_clusters
from detection.rules.account import AccountFacts, Candidate, Successor, evaluate_account, own_notices
from detection.rules.config import RuleSet, load_rules
from detection.rules.freshness import months_before
from detection.rules.notice import Notice, could_be_notice, notice_from_json
from detection.rules.portal import evaluate_portal
from detection.rules.quality import cluster_near_duplicates
from detection.rules.result import CheckSummary, Evaluation
from detection.rules.verdict import decide_verdict

# Hashing is pure Python: a first run over a year of posts (hundreds of thousands) spreads it over the
# cores; a daily run's few new posts are hashed in place.
PARALLEL_FROM = 20_000
T = TypeVar("T")


def simhash_all(posts: list[tuple[str | None, str | None]]) -> list[int]:
    """SimHashes of many (title, text) posts, on every core when there are many."""
    workers = os.cpu_count() or 1
    if len(posts) < PARALLEL_FROM or workers < 2:
        return [text_simhash(title, text) for title, text in posts]
    # spawn, not fork: detection also runs inside a crawl, whose reactor has threads
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        chunk = max(len(posts) // (workers * 4), 1)
        return list(pool.map(text_simhash, *zip(*posts, strict=True), chunksize=chunk))


ACCOUNT_KINDS = frozenset({*ACCOUNT_LIST_KINDS, CheckKind.ARTICLE})
PORTAL_KINDS = frozenset({CheckKind.PROBE})
# Failures ordered by what they say: the target's own failure before a refusal to us.
_GROUP_ORDER = {OutcomeGroup.UNAVAILABLE: 0, OutcomeGroup.BLOCKED: 1}


@dataclass
class DetectSummary:
    run_id: int
    as_of: str
    targets: int
    findings: int
    by_rule: dict[str, int] = field(default_factory=dict)
    lifecycle: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)
    held: int = 0
    errors: int = 0
    hashed_posts: int = 0
    seconds: float = 0.0
    # accounts whose facts over posts were read again / reused from the last run (detection/post_facts.py)
    facts_read: int = 0
    facts_reused: int = 0
    clusters_reused: bool = False


@dataclass
class _Reads:
    """What judging the accounts read, and what it reused."""

    hashed: int = 0
    facts_read: int = 0
    facts_reused: int = 0
    clusters_reused: bool = False


@dataclass
class _Judged:
    target: dict[str, Any]
    profile: str
    evaluation: Evaluation


class _Errors:
    """Exceptions raised while judging, kept with what was being judged."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    @contextmanager
    def guard(self, rule: str, target_id: int | None = None, post_id: str | None = None) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            tail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.rows.append(
                {"target_id": target_id, "rule": rule, "post_id": post_id, "error": tail, "at": now_iso()}
            )


# Posts a crawl writes arrive judged and hashed (its writer reads each one, detection/features.py); a first
# run over a database filled otherwise reads and judges this many or more in processes, each its range of
# rowids.
JUDGE_PARALLEL_FROM = 200_000
Notices = list[tuple[str, int]]
Hashes = list[tuple[int, int]]


@dataclass
class _Judgement:
    """What reading unjudged posts found: the notices found, the SimHashes the duplicate window lacked
    (read from the same text), how many posts were read."""

    notices: Notices = field(default_factory=list)
    hashes: Hashes = field(default_factory=list)
    read: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def _judge_rows(rows: Iterable[tuple[Any, ...]], hash_since: str, errors: _Errors) -> _Judgement:
    out = _Judgement()
    for pid, at, title, text, tid, post, unhashed in rows:
        out.read += 1
        if could_be_notice(title, text):
            notice = None
            with errors.guard("account.closure_notice", tid, post):
                notice = notice_of(title, text, at)
            if notice is not None:  # the others are marked as having none (q.mark_judged)
                out.notices.append((notice, pid))
        if unhashed and at >= hash_since:
            out.hashes.append((text_simhash(title, text), pid))
    return out


def _judge_chunk(task: tuple[str, str, str, Sequence[int] | None, int, int]) -> _Judgement:
    """One process's share of a first run: the unjudged posts of its rowids, read on its own connection
    (the parent holds the write lock and has not written: every process reads the same posts)."""
    path, since, hash_since, ids, lo, hi = task
    database = open_db(path, migrate=False)
    errors = _Errors()
    try:
        rows = q.unjudged_posts(database, since=since, target_ids=ids, rowids=(lo, hi))
        out = _judge_rows(rows, hash_since, errors)
    finally:
        database.close()
    out.errors = errors.rows
    return out


def _ready() -> None:
    """Nothing: a process that ran it has imported what judging needs (this module)."""


def _read_on_own_connection(path: str, query: Callable[..., T], kwargs: dict[str, Any]) -> T:
    """``query`` on a connection of its own (a read-aside thread's, or a judging process's)."""
    reader = open_db(path, migrate=False)
    try:
        return query(reader, **kwargs)
    finally:
        reader.close()


class _Judging:
    """Judging every post of the window not judged yet, once, and marking them; the text read for it
    also hashes the posts of the duplicate window (from ``hash_since``) that have no SimHash.

    A first run's backlog (JUDGE_PARALLEL_FROM posts or more) is judged in processes, each its range of
    rowids. They are started when this is made, before they are needed: a spawned process spends about
    half a second importing what judging needs, while the parent reads what the crawls recorded. Once
    the write lock is held they read their ranges, and the parent marks the same range judged while
    they read (its uncommitted writes are invisible to their connections). A post queued or edited
    between the backlog's count and the lock may lie outside the range: it stays for the next run.
    The same processes read the facts over posts as they finish (``submit``)."""

    def __init__(
        self, database: Database, since: str, hash_since: str, ids: Sequence[int] | None, errors: _Errors
    ) -> None:
        self.database, self.since, self.hash_since, self.ids = database, since, hash_since, ids
        self.errors = errors
        self.path = database_file(database)
        self.workers = os.cpu_count() or 1
        self.pool: ProcessPoolExecutor | None = None
        self.queued: list[tuple[list[Future[Any]], Callable[..., Any], dict[str, Any]]] = []
        if self.workers < 2 or not self.path:
            return
        count, self.lo, self.hi = q.unjudged_bounds(database, since=since, target_ids=ids)
        if count >= JUDGE_PARALLEL_FROM:
            self.count = count
            # spawn, not fork: detection also runs inside a crawl, whose reactor has threads
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            for _ in range(self.workers):
                self.pool.submit(_ready)

    def submit(self, query: Callable[..., T], **kwargs: Any) -> Callable[[], T]:
        """``query`` run in one of the processes, handed to them after the ranges ``run`` hands out
        (``_ReadAside.submit``'s contract: the function returned gives the result). The first process
        done judging takes it while the other judges the last range. In a process of its own a query's
        rows do not wait for the parent's Python work to hand them the interpreter, as a thread's do."""
        slot: list[Future[T]] = []
        self.queued.append((slot, query, kwargs))
        return lambda: slot[0].result()

    def __enter__(self) -> _Judging:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def run(self) -> int:
        """Judge, mark and store, in one write transaction; return how many posts were hashed."""
        database, since, ids = self.database, self.since, self.ids
        with database.conn:
            if not database.conn.in_transaction:
                database.conn.execute("BEGIN IMMEDIATE")  # no crawl may queue a post between read and mark
            if self.pool is not None:
                lo, hi = self.lo, self.hi
                # Ranges small enough that storing what each found overlaps the judging of the next.
                step = (hi - lo) // (self.workers * 4) + 1
                tasks = [
                    (str(self.path), since, self.hash_since, ids, a, min(a + step - 1, hi))
                    for a in range(lo, hi + 1, step)
                ]
                parts: Iterable[_Judgement] = self.pool.map(_judge_chunk, tasks)  # handed out now
                for slot, query, kwargs in self.queued:  # then what was submitted
                    slot.append(self.pool.submit(_read_on_own_connection, str(self.path), query, kwargs))
                q.mark_judged(database, since=since, target_ids=ids, read=self.count, rowids=(lo, hi))
            else:
                rows = q.unjudged_posts(database, since=since, target_ids=ids)
                judgement = _judge_rows(rows, self.hash_since, self.errors)
                q.mark_judged(database, since=since, target_ids=ids, read=judgement.read)
                parts = [judgement]
            hashed = 0
            for part in parts:  # in order, each as it comes
                self.errors.rows.extend(part.errors)
                q.store_judgements(database, notices=part.notices, hashes=part.hashes)
                hashed += len(part.hashes)
            return hashed


class _ReadAside:
    """Read-only queries over the whole window (the per-target aggregates) run on their own connections
    in threads while this one judges, hashes and clusters: SQLite lets go of the interpreter while it
    steps, so the scans and the Python work share the cores. In memory a query runs in place. Each
    ``submit`` returns a function that gives the query's result; leaving the ``with`` waits for them."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.path = database_file(database)
        self.pool = ThreadPoolExecutor(2, thread_name_prefix="detect-read") if self.path else None

    def submit(self, query: Callable[..., T], **kwargs: Any) -> Callable[[], T]:
        path = self.path
        if self.pool is None or path is None:
            result = query(self.database, **kwargs)
            return lambda: result

        return self.pool.submit(_read_on_own_connection, str(path), query, kwargs).result

    def __enter__(self) -> _ReadAside:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def summarize_checks(rows: Sequence[Mapping[str, Any]] | None) -> CheckSummary | None:
    """A run's fetches of one target as one summary: the same whatever order the answers came in."""
    if not rows:
        return None
    failures = [r for r in rows if not CheckOutcome(r["outcome"]).is_ok]
    failures.sort(key=lambda r: (_GROUP_ORDER.get(CheckOutcome(r["outcome"]).group, 9), r["url"] or ""))
    return CheckSummary(
        run_id=rows[0]["run_id"],
        checks=len(rows),
        answered=len(rows) - len(failures),
        failures=tuple(dict(f) for f in failures),
    )


def held_reason(attempt: Mapping[str, Any] | None) -> str | None:
    """Why the latest run that fetched a target is no evidence about it, or None when it is."""
    if attempt is None:
        return None
    if attempt["trusted"] != 1:
        why = attempt["problems"] or attempt["status"] or "not assessed"
        return f"爬虫侧问题 crawler-side problem in run {attempt['run_id']}: {why}"
    if not attempt["target_side"]:
        return f"爬虫侧问题 crawler-side problem in run {attempt['run_id']}: {attempt['crawler_side']}"
    return None


def detect(
    database: Database,
    *,
    as_of: datetime,
    rules: RuleSet | None = None,
    profile: str | None = None,
    target_ids: Sequence[int] | None = None,
    run_id: int | None = None,
    full: bool = False,
) -> DetectSummary:
    """Evaluate every rule for the targets (all active ones by default), sync findings and verdicts.

    With ``run_id`` (a crawl's run, when detection runs at its end) the findings are attributed to
    that run; otherwise a `detect` run is recorded. ``full`` reads every account's posts again instead
    of reusing what the last run read of the posts that did not change.
    """
    started = datetime.now().astimezone()
    rules = rules or load_rules()
    as_of_iso = iso(as_of)
    own_run = run_id is None
    if run_id is None:
        run_id = runs.start_run(database, spider="detect", started_at=now_iso(), as_of=as_of_iso)
    with database.conn:
        q.write_rules(database, rules.rules)
    targets = q.load_detect_targets(database, target_ids)
    ids = [t["id"] for t in targets] if target_ids is not None else None
    errors = _Errors()
    judged: dict[int, _Judged] = {}
    held: dict[int, str] = {}
    accounts = [t for t in targets if t["platform"] != Platform.PORTAL]
    portals = [t for t in targets if t["platform"] == Platform.PORTAL]
    reads = _Reads()
    portals_judged = None
    if accounts:
        portals_judged = _judge_accounts(
            database, rules, accounts, portals, as_of, profile, ids, judged, held, errors, reads, full
        )
    if portals_judged is not None:  # a first run's judging processes judged them
        portal_judged, portal_held, portal_errors = portals_judged()
        judged.update(portal_judged)
        held.update(portal_held)
        errors.rows.extend(portal_errors)
    elif portals:
        _judge_portals(database, rules, portals, as_of, profile, ids, judged, held, errors)
    found: list[dict[str, Any]] = []
    scope: dict[int, set[str]] = {}
    verdict_rows: list[dict[str, Any]] = []
    written = now_iso()  # the verdicts' updated_at: the same for every one this run writes
    for tid, j in judged.items():
        meta = rules.resolved(j.profile)
        scope[tid] = j.evaluation.scope
        for f in j.evaluation.findings:
            m = meta[f.rule]
            points = f.points if f.points is not None or m["severity"] != "deduction" else m.get("points")
            f.points = points
            found.append(
                {
                    "target_id": tid,
                    "rule": f.rule,
                    "subject": f.subject,
                    "label": m["label"],
                    "severity": m["severity"],
                    "indicator": m["indicator"],
                    "evidence": f.evidence,
                    "points": points,
                    "profile": j.profile,
                }
            )
        v = decide_verdict(
            j.evaluation.findings,
            coverage=j.evaluation.coverage,
            reason=j.evaluation.reason,
            rules=meta,
            scoring=rules.scoring,
        )
        verdict_rows.append(
            {
                **{
                    k: getattr(v, k)
                    for k in ("score", "reason", "vetoes", "veto_labels", "deductions", "infos")
                },
                "target_id": tid,
                "verdict": v.verdict.value,
                "coverage": v.coverage.value,
                "breakdown": to_json(v.breakdown),
                "judged_run_id": j.evaluation.judged_run_id,
                "detect_run_id": run_id,
                "as_of": as_of_iso,
                "held": 0,
                "note": None,
                "updated_at": written,
            }
        )
    with database.conn:
        for tid, j in judged.items():
            closure = getattr(j.evaluation, "closure", None)
            if closure is not None:
                status, reason, url = closure
                q.record_closure_state(
                    database,
                    target_id=tid,
                    status=status,
                    reason=reason,
                    evidence_url=url,
                    at=as_of_iso,
                    run_id=run_id,
                )
        lifecycle = q.sync_findings(database, found=found, scope=scope, as_of=as_of_iso, run_id=run_id)
        q.write_verdicts(database, verdict_rows)
        q.hold_verdicts(database, held, detect_run_id=run_id, as_of=as_of_iso, at=now_iso())
        n_errors = q.record_detect_errors(database, run_id, errors.rows)
    by_rule: dict[str, int] = defaultdict(int)
    for row in found:
        by_rule[row["rule"]] += 1
    by_verdict: dict[str, int] = defaultdict(int)
    for r in verdict_rows:
        by_verdict[r["verdict"]] += 1
    elapsed = (datetime.now().astimezone() - started).total_seconds()
    summary = DetectSummary(
        run_id,
        as_of_iso,
        len(targets),
        len(found),
        dict(sorted(by_rule.items())),
        lifecycle,
        dict(sorted(by_verdict.items())),
        len(held),
        n_errors,
        reads.hashed,
        round(elapsed, 3),
        reads.facts_read,
        reads.facts_reused,
        reads.clusters_reused,
    )
    with database.conn:
        if own_run:
            runs.finish_run(
                database,
                run_id,
                finished_at=now_iso(),
                reason="finished",
                stats={"item_scraped_count": len(found), "monitor/detect": asdict(summary)},
            )
            runs.set_trust(database, run_id)
        else:
            q.add_run_stats(database, run_id, {"monitor/detect": asdict(summary)})
    return summary


PortalsJudged = tuple[dict[int, _Judged], dict[int, str], list[dict[str, Any]]]


def _judge_accounts(
    database: Database,
    rules: RuleSet,
    accounts: list[dict[str, Any]],
    portals: list[dict[str, Any]],
    as_of: datetime,
    override: str | None,
    ids: Sequence[int] | None,
    judged: dict[int, _Judged],
    held: dict[int, str],
    errors: _Errors,
    reads: _Reads,
    full: bool,
) -> Callable[[], PortalsJudged] | None:
    """Judge the accounts; in a first run its judging processes also judge ``portals`` (beside the
    clustering here): then the function returned gives what they found."""
    base = rules.resolved(rules.default_profile)
    profiles = {t["id"]: rules.profile_for(t, override) for t in accounts}
    settings = {p: rules.resolved(p) for p in set(profiles.values())}
    as_of_iso = iso(as_of)
    lookback = max(s["account.closure_notice"]["lookback_days"] for s in settings.values())
    poster = base["account.poster_only"]
    since_notice = iso(as_of - timedelta(days=lookback))
    since_dup = hash_window_start(rules, as_of)
    # A first run's judging processes start now, while what the crawls recorded is read.
    with _Judging(database, since_notice, since_dup, ids, errors) as judging, _ReadAside(database) as aside:
        list_checks = q.fetch_coverage(database, ACCOUNT_LIST_KINDS, ids)
        article_checks = q.fetch_coverage(database, [CheckKind.ARTICLE], ids)
        attempts = q.latest_attempts(database, ACCOUNT_KINDS, ids)
        states = q.latest_account_states(database, ids)
        gap_keys = {
            (x["account.update_gaps"]["window_days"], x["account.update_gaps"]["max_gap_days"])
            for x in settings.values()
        }
        windows = FactWindows(
            content_days=base["account.repost_heavy"]["window_days"],
            year_days=base["account.zombie"]["notice_only_window_days"],
            max_text_length=poster["max_text_length"],
            meeting_words=tuple(base["account.meeting_heavy"]["title_words"]),
            gap_keys=tuple(sorted(gap_keys)),
        )

        # The facts over posts are read on threads while a few posts are judged here, or by a first
        # run's judging processes as they finish (threads would wait on the parent's Python every row).
        submit = aside.submit if judging.pool is None else judging.submit
        facts_read = PostFactsRead(
            database, submit, windows, as_of, [t["id"] for t in accounts], ids, full=full
        )
        portals_judged = (
            judging.submit(
                _portals_judged, rules=rules, portals=portals, as_of=as_of, override=override, ids=ids
            )
            if portals and judging.pool is not None
            else None
        )
        reads.hashed = judging.run()
        notices: dict[int, list[tuple[dict[str, Any], Notice]]] = defaultdict(list)
        for post in q.stored_notices(database, since=since_notice, as_of=as_of_iso, target_ids=ids):
            with errors.guard("account.closure_notice", post["target_id"], post["post_id"]):
                notices[post["target_id"]].append((post, notice_from_json(post["notice"])))
        with database.conn:  # what judging did not read: posts of the duplicate window judged before
            reads.hashed += q.update_simhashes(database, since=since_dup, compute=simhash_all)
        max_hamming = base["account.duplicate_posts"]["max_hamming"]
        changed = bool(reads.hashed or facts_read.marked)
        duplicates = _duplicates(database, since_dup, as_of_iso, max_hamming, reads, changed, full)
        post_facts = facts_read.result()
        aggs, gaps = post_facts.aggregates, post_facts.gaps
        reads.facts_read, reads.facts_reused = post_facts.read, post_facts.reused

    for t in accounts:
        tid, profile = t["id"], profiles[t["id"]]
        reason = held_reason(attempts.get(tid))
        if reason is not None:
            held[tid] = reason
            continue
        s = settings[profile]
        g = s["account.update_gaps"]
        found = notices.get(tid, [])
        own = own_notices(found, t["name"])
        facts = AccountFacts(
            platform=t["platform"],
            name=t["name"],
            # An account known only by article URLs has no list-level fetch: its articles are the evidence.
            checks=summarize_checks(list_checks.get(tid) or article_checks.get(tid)),
            state=states.get(tid),
            posts=aggs.get(tid),
            gaps=gaps[(g["window_days"], g["max_gap_days"])].get(tid),
            notices=found,
            successors=_successors(database, t, own[-1][1], as_of) if own else (),
            duplicates=duplicates.get(tid, (0, 0, ())),
        )
        with errors.guard("account", tid):
            evaluation = evaluate_account(s, as_of=as_of, facts=facts)
            evaluation.judged_run_id = facts.checks.run_id if facts.checks else None
            judged[tid] = _Judged(t, profile, evaluation)
    return portals_judged


def _duplicates(
    database: Database, since: str, as_of: str, max_hamming: int, reads: _Reads, changed: bool, full: bool
) -> Clusters:
    """Per target: (near-duplicate posts, posts in the window, other targets sharing them); the last
    run's when nothing in the window changed (detection/post_facts.py)."""
    out, reads.clusters_reused = reuse_clusters(
        database, since, as_of, max_hamming, _cluster_targets, changed=changed, full=full
    )
    return out


def _cluster_targets(hashes: Sequence[tuple[int, int, int]], max_hamming: int) -> Clusters:
    clusters = cluster_near_duplicates(((pid, h) for pid, _, h in hashes), max_hamming)
    post_target = {pid: tid for pid, tid, _ in hashes}
    members: dict[int, list[int]] = defaultdict(list)
    for pid, root in clusters.items():
        members[root].append(post_target[pid])
    dup_posts: Counter[int] = Counter()
    peers: dict[int, set[int]] = defaultdict(set)
    window = Counter(tid for _, tid, _ in hashes)
    for tids in members.values():
        dup_posts.update(tids)
        shared = set(tids)
        for tid in shared:
            peers[tid] |= shared
    return {tid: (dup_posts[tid], n, tuple(sorted(peers[tid] - {tid}))) for tid, n in window.items()}


def _successors(
    database: Database, t: Mapping[str, Any], n: Notice, as_of: datetime
) -> tuple[Successor, ...]:
    out = []
    for mt in n.migration_targets:
        candidates = tuple(
            Candidate(c["id"], c["name"], c["platform"], q.newest_content_at(database, c["id"], iso(as_of)))
            for c in q.find_targets_by_name_or_url(database, mt.name, mt.url)
            if c["id"] != t["id"]
        )
        out.append(Successor(mt.name, candidates))
    return tuple(out)


def _judge_portals(
    database: Database,
    rules: RuleSet,
    portals: list[dict[str, Any]],
    as_of: datetime,
    override: str | None,
    ids: Sequence[int] | None,
    judged: dict[int, _Judged],
    held: dict[int, str],
    errors: _Errors,
) -> None:
    base = rules.resolved(rules.default_profile)
    as_of_iso = iso(as_of)
    probes = q.portal_probe_stats(
        database,
        since=iso(as_of - timedelta(days=base["portal.unreachable"]["window_days"])),
        as_of=as_of_iso,
        target_ids=ids,
    )
    attempts = q.latest_attempts(database, PORTAL_KINDS, ids)
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
        reason = held_reason(attempts.get(tid))
        if reason is not None:
            held[tid] = reason
            continue
        profile = rules.profile_for(t, override)
        with errors.guard("portal", tid):
            evaluation = evaluate_portal(
                rules.resolved(profile),
                as_of=as_of,
                probes=probes.get(tid),
                site=sites.get(tid),
                columns=columns.get(tid, []),
                dead_links=links.get(tid, []),
                messages=messages.get(tid, []),
            )
            evaluation.judged_run_id = (attempts.get(tid) or {}).get("run_id")
            judged[tid] = _Judged(t, profile, evaluation)


def _portals_judged(
    database: Database,
    *,
    rules: RuleSet,
    portals: list[dict[str, Any]],
    as_of: datetime,
    override: str | None,
    ids: Sequence[int] | None,
) -> PortalsJudged:
    """``_judge_portals`` in a judging process: what it found, to add to the parent's."""
    judged: dict[int, _Judged] = {}
    held: dict[int, str] = {}
    errors = _Errors()
    _judge_portals(database, rules, portals, as_of, override, ids, judged, held, errors)
    return judged, held, errors.rows
