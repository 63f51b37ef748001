"""SQL for detection: per-target aggregates the rules read, and the findings lifecycle they write."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlite_utils import Database

from core.enums import DERIVED_STATUSES, AnswerState, Coverage, OutcomeGroup, RunStatus, Verdict, outcomes_in
from db import to_json
from db.bulk import signed
from db.sql import in_list
from db.views import TRUSTED_RUNS

CRAWLER_OUTCOMES = in_list(outcomes_in(OutcomeGroup.CRAWLER))
# A probe the site answered with a refusal to us (blocked, login wall) says nothing about whether it is up.
NOT_PROBE_EVIDENCE = in_list(outcomes_in(OutcomeGroup.CRAWLER, OutcomeGroup.BLOCKED))


def _in(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _scope(target_ids: Sequence[int] | None, col: str = "t.id") -> tuple[str, list[Any]]:
    if target_ids is None:
        return "", []
    return f" AND {col} IN ({_in(target_ids)})", list(target_ids)


def load_detect_targets(db: Database, target_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    where, params = _scope(target_ids)
    return list(
        db.query(
            "SELECT t.id, t.platform, t.name, t.url, t.feed_url, t.profile, t.region_code, t.level "
            f"FROM targets t WHERE t.active = 1{where} ORDER BY t.id",
            params,
        )
    )


def fetch_coverage(
    db: Database, kinds: Iterable[str], target_ids: Sequence[int] | None
) -> dict[int, list[dict]]:
    """Per target, every target-side fetch of these kinds in its latest trusted run that made one.

    Crawler-side outcomes (no credentials, no browser) are left out: they are no evidence either way.
    """
    where, params = _scope(target_ids, "c.target_id")
    kinds_sql = in_list(kinds)
    rows = db.query(
        "WITH l AS (SELECT c.target_id, max(c.run_id) AS run_id FROM checks c "
        f"WHERE c.kind IN {kinds_sql} AND c.outcome NOT IN {CRAWLER_OUTCOMES} "
        f"AND (c.run_id IS NULL OR c.run_id IN ({TRUSTED_RUNS})){where} GROUP BY c.target_id) "
        "SELECT c.target_id, c.run_id, c.kind, c.url, c.outcome, c.ok, c.http_status, c.error, c.checked_at "
        "FROM checks c JOIN l ON l.target_id = c.target_id AND l.run_id IS c.run_id "
        f"WHERE c.kind IN {kinds_sql} AND c.outcome NOT IN {CRAWLER_OUTCOMES} ORDER BY c.id",
        params,
    )
    out: dict[int, list[dict]] = {}
    for r in rows:
        out.setdefault(r["target_id"], []).append(r)
    return out


def latest_attempts(db: Database, kinds: Iterable[str], target_ids: Sequence[int] | None) -> dict[int, dict]:
    """Per target, the latest finished (or aborted) run that fetched it: is it trusted, did it get any
    target-side answer, and the crawler-side problems recorded against it."""
    where, params = _scope(target_ids, "c.target_id")
    kinds_sql = in_list(kinds)
    # The runs as a list the checks are filtered by, not a join: with statistics (ANALYZE) over many
    # checks that belong to no run, SQLite planned the join as a scan of the runs per check (0.18 s
    # instead of 0.02 s over 110,000 checks).
    rows = db.query(
        "WITH l AS (SELECT c.target_id, max(c.run_id) AS run_id FROM checks c "
        f"WHERE c.kind IN {kinds_sql} AND c.run_id IN (SELECT id FROM runs WHERE coalesce(status, '') != ?)"
        f"{where} GROUP BY c.target_id) "
        "SELECT l.target_id, l.run_id, r.trusted, r.status, "
        "(SELECT count(*) FROM checks c WHERE c.target_id = l.target_id AND c.run_id = l.run_id "
        f" AND c.kind IN {kinds_sql} AND c.outcome NOT IN {CRAWLER_OUTCOMES}) AS target_side, "
        "(SELECT group_concat(c.outcome || ': ' || coalesce(c.error, ''), '; ') FROM checks c "
        " WHERE c.target_id = l.target_id AND c.run_id = l.run_id "
        f" AND c.kind IN {kinds_sql} AND c.outcome IN {CRAWLER_OUTCOMES}) AS crawler_side, "
        "(SELECT group_concat(p.problem || ': ' || coalesce(p.detail, ''), '; ') FROM run_problems p "
        " WHERE p.run_id = l.run_id AND p.blocks_trust = 1) AS problems "
        "FROM l JOIN runs r ON r.id = l.run_id",
        [RunStatus.RUNNING.value, *params],
    )
    return {r["target_id"]: r for r in rows}


def latest_account_states(db: Database, target_ids: Sequence[int] | None) -> dict[int, dict]:
    where, params = _scope(target_ids, "a.target_id")
    rows = db.query(
        "SELECT a.target_id, a.status, a.status_reason, a.evidence_url, a.last_seen_at, a.posts_count "
        "FROM accounts a "
        "WHERE a.id = (SELECT b.id FROM accounts b WHERE b.target_id = a.target_id AND b.status NOT IN "
        f"{in_list(DERIVED_STATUSES)} ORDER BY b.last_seen_at DESC, b.id DESC LIMIT 1){where}",
        params,
    )
    return {r["target_id"]: r for r in rows}


def post_aggregates(
    db: Database,
    *,
    as_of: str,
    window_start: str,
    year_start: str,
    month_start: str,
    max_text_length: int,
    meeting_words: Iterable[str],
    target_ids: Sequence[int] | None,
) -> dict[int, dict]:
    """Per target: newest non-pinned post, and counts over the content window, the past year and the
    past month (from ``month_start``: "a month" for the ≥1 original a month profile)."""
    words = list(meeting_words)
    # instr() where LIKE's case folding and wildcards cannot matter (Chinese words): several times cheaper.
    meeting = " OR ".join("instr(title, ?) > 0" if _literal(w) else "title LIKE ?" for w in words) or "0"
    where, params = _scope(target_ids, "target_id")
    rows = db.query(
        "SELECT target_id, max(published_at) AS newest_at, "
        "sum(published_at >= ?) AS window_posts, "
        "sum(published_at >= ? AND is_original IS NOT NULL) AS window_known_original, "
        "sum(published_at >= ? AND is_original = 1) AS window_original, "
        "sum(published_at >= ? AND is_repost = 1) AS window_reposts, "
        "sum(published_at >= ? AND coalesce(text_length, 0) <= ? AND image_count = 1) AS window_posters, "
        # CASE, not AND: a result column's AND evaluates both sides, the title words for every post.
        f"sum(CASE WHEN published_at >= ? THEN ({meeting}) ELSE 0 END) AS window_meetings, "
        "sum(published_at >= ?) AS year_posts, "
        "sum(published_at >= ? AND is_original = 1) AS month_original "
        "FROM posts WHERE coalesce(is_pinned, 0) = 0 AND published_at <= ? "
        f"{where} GROUP BY target_id",
        [
            window_start,
            window_start,
            window_start,
            window_start,
            window_start,
            max_text_length,
            window_start,
            *(w if _literal(w) else f"%{w}%" for w in words),
            year_start,
            month_start,
            as_of,
            *params,
        ],
    )
    return {r["target_id"]: r for r in rows}


def _literal(word: str) -> bool:
    """A word LIKE would match exactly as instr() does: no ASCII letters to fold, no wildcards."""
    return not any(c.isascii() and (c.isalpha() or c in "%_") for c in word)


def gap_aggregates(
    db: Database, *, since: str, as_of: str, max_gap_days: float, target_ids: Sequence[int] | None
) -> dict[int, tuple[float, float, int, float]]:
    """Per target, over gaps between consecutive non-pinned posts in the window (window functions):
    (longest gap, days beyond ``max_gap_days`` summed, gaps over, newest post as a Julian day).
    The trailing gap up to as_of is the caller's (detection.rules.freshness.gap_stats_days agrees).
    """
    where, params = _scope(target_ids, "target_id")
    rows = db.conn.execute(
        "SELECT target_id, coalesce(max(gap), 0), coalesce(sum(max(gap - ?, 0)), 0), "
        "coalesce(sum(gap > ? + 1e-9), 0), max(jd) FROM ("
        " SELECT target_id, jd, jd - lag(jd) OVER (PARTITION BY target_id ORDER BY jd) AS gap FROM ("
        "  SELECT target_id, julianday(published_at) AS jd FROM posts"
        "  WHERE published_at >= ? AND published_at <= ? AND coalesce(is_pinned, 0) = 0"
        f"{where})) GROUP BY target_id",
        [max_gap_days, max_gap_days, since, as_of, *params],
    )
    return {r[0]: (r[1], r[2], int(r[3]), r[4]) for r in rows}


def unjudged_bounds(db: Database, *, since: str, target_ids: Sequence[int] | None) -> tuple[int, int, int]:
    """(how many, lowest and highest post rowid) of the posts of the window not judged yet."""
    where, params = _scope(target_ids, "target_id")
    row = db.conn.execute(
        "SELECT count(*), coalesce(min(post_rowid), 0), coalesce(max(post_rowid), 0) FROM post_features "
        f"WHERE notice_checked = 0 AND published_at >= ?{where}",
        [since, *params],
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def unjudged_posts(
    db: Database, *, since: str, target_ids: Sequence[int] | None, rowids: tuple[int, int] | None = None
) -> Iterator[tuple[Any, ...]]:
    """(rowid, published_at, title, text, target_id, post_id, has no SimHash) of each unjudged post of
    the window (of the rowids ``rowids`` only, both ends included), streamed."""
    where, params = _scope(target_ids, "f.target_id")
    if rowids is not None:
        where += " AND f.post_rowid BETWEEN ? AND ?"
        params = [*params, *rowids]
    # The queue (post_features.notice_checked = 0) says which posts are unjudged; their text is read once
    # (a compiled regex in Python is ~30x faster than instr() per word).
    yield from db.conn.execute(
        "SELECT p.id, p.published_at, p.title, p.text, p.target_id, p.post_id, f.simhash IS NULL "
        "FROM post_features f JOIN posts p ON p.id = f.post_rowid "
        f"WHERE f.notice_checked = 0 AND f.published_at >= ?{where}",
        [since, *params],
    )


def mark_judged(
    db: Database,
    *,
    since: str,
    target_ids: Sequence[int] | None,
    read: int,
    rowids: tuple[int, int] | None = None,
) -> int:
    """Every unjudged post of the window (of the rowids ``rowids`` only, both ends included) marked
    judged, as having no notice; return how many. In the write transaction the posts are read in:
    before they are judged, or while processes judge them (readers on other connections see none of it
    until it commits). ``store_judgements`` then adds the notices and SimHashes they found."""
    where, params = _scope(target_ids, "target_id")
    if rowids is not None:
        where += " AND post_rowid BETWEEN ? AND ?"
        params = [*params, *rowids]
    with _partial_index_aside(db, "post_features_unjudged", read):
        judged = db.conn.execute(
            f"UPDATE post_features SET notice_checked = 1, notice = NULL WHERE notice_checked = 0 "
            f"AND published_at >= ?{where}",
            [since, *params],
        ).rowcount
    return int(judged)


def store_judgements(
    db: Database, *, notices: Iterable[tuple[str, int]], hashes: Sequence[tuple[int, int]] = ()
) -> None:
    """The notices found ((notice JSON, rowid)) and the SimHashes computed from the same reading
    ((unsigned hash, rowid)) of posts ``mark_judged`` marked, in the same write transaction."""
    db.conn.executemany("UPDATE post_features SET notice = ? WHERE post_rowid = ?", notices)
    _write_simhashes(db, hashes)


def stored_notices(
    db: Database, *, since: str, as_of: str, target_ids: Sequence[int] | None
) -> list[dict[str, Any]]:
    where, params = _scope(target_ids, "f.target_id")
    return [
        {**r, "notice": json.loads(r["notice"])}
        for r in db.query(
            "SELECT f.target_id, f.notice, p.post_id, p.url, p.title, p.published_at FROM post_features f "
            "JOIN posts p ON p.id = f.post_rowid WHERE f.notice IS NOT NULL AND f.published_at >= ? "
            f"AND f.published_at <= ?{where} ORDER BY f.published_at",
            [since, as_of, *params],
        )
    ]


def update_simhashes(
    db: Database, *, since: str, compute: Callable[[list[tuple[str | None, str | None]]], Iterable[int]]
) -> int:
    """Hash posts of the window that have no SimHash yet (``compute`` hashes a list of (title, text) at
    once); return how many were hashed."""
    rows = db.conn.execute(
        "SELECT p.id, p.title, p.text FROM post_features f JOIN posts p ON p.id = f.post_rowid "
        "WHERE f.simhash IS NULL AND f.published_at >= ?",
        [since],
    ).fetchall()
    hashes = compute([(title, text) for _, title, text in rows])
    _write_simhashes(db, list(zip(hashes, (pid for pid, _, _ in rows), strict=True)))
    return len(rows)


def _write_simhashes(db: Database, hashes: Sequence[tuple[int, int]]) -> None:
    """Store (unsigned SimHash, post rowid) pairs; inside the caller's write transaction. The posts
    hashed are the duplicate window's, the newest: the tail of ``post_features_unhashed`` (by
    publication time), whose entries go cheaply. Unlike the unjudged queue it is not set aside for a
    large write: 173,000 SimHashes of a first run, 0.80 s kept against 0.86 s + 0.60 s to rebuild it."""
    db.conn.executemany(
        "UPDATE post_features SET simhash = ? WHERE post_rowid = ?",
        ((signed(h), pid) for h, pid in hashes),
    )


# Past this many rows leaving the unjudged queue (a first run's mark-judged: every post of the year),
# dropping the index and building it again after is 3x faster than deleting its entries one by one.
REBUILD_FROM = 100_000


@contextmanager
def _partial_index_aside(db: Database, name: str, rows: int) -> Iterator[None]:
    """Inside the caller's write transaction: for a large update, ``name`` is dropped for its duration
    and made again from its own stored definition (the migration that made it stays its one home)."""
    sql = None
    if rows >= REBUILD_FROM:
        found = db.conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", [name])
        sql = (found.fetchone() or [None])[0]
    if sql:
        if not db.conn.in_transaction:  # DDL opens none by itself: never leave the index dropped
            db.conn.execute("BEGIN IMMEDIATE")
        db.conn.execute(f"DROP INDEX [{name}]")
    try:
        yield
    finally:
        if sql:
            db.conn.execute(sql)


def simhashes(db: Database, *, since: str, as_of: str) -> list[tuple[int, int, int]]:
    """(post rowid, target_id, simhash as stored: signed 64-bit) for posts in the window."""
    return db.conn.execute(
        "SELECT post_rowid, target_id, simhash FROM post_features WHERE published_at >= ? "
        "AND published_at <= ? AND simhash IS NOT NULL",
        [since, as_of],
    ).fetchall()


# A prime below 2^31: residues of 31 bits, so a product of two stays below 2^62 and no sum over fewer than
# 2^31 rows overflows SQLite's 64-bit integers.
_P = 2_147_483_629


def window_checksum(db: Database, *, since: str, as_of: str) -> tuple[int, ...]:
    """Sums over the rows ``simhashes`` returns, taken by SQLite without handing the rows over: their
    count, post ids, accounts and the low and high halves of their SimHashes (any one row that entered,
    left or changed moves one of them, whatever the order), and one sum of a product per row that
    mixes a post's id, account and SimHash (posts that trade places, accounts or hashes move it)."""
    mixed = (
        f"(((simhash & 2147483647) + post_rowid) % {_P}) * "
        f"((((simhash >> 31) & 2147483647) + target_id) % {_P}) % {_P}"
    )
    row = db.conn.execute(
        "SELECT count(*), sum(post_rowid), sum(target_id), sum(simhash & 4294967295), sum(simhash >> 32), "
        f"sum({mixed}) FROM post_features WHERE published_at >= ? AND published_at <= ? "
        "AND simhash IS NOT NULL",
        [since, as_of],
    ).fetchone()
    return tuple(v or 0 for v in row)


def find_targets_by_name_or_url(db: Database, name: str, url: str | None) -> list[dict[str, Any]]:
    params: list[Any] = [name, name]
    cond = "name = ? OR org = ?"
    if url:
        host = url.split("://", 1)[-1].split("/", 1)[0]
        cond += " OR url LIKE ? OR url LIKE ?"
        params += [f"%://{host}", f"%://{host}/%"]
    return list(
        db.query(f"SELECT id, platform, name, url FROM targets WHERE active = 1 AND ({cond})", params)
    )


def newest_content_at(db: Database, target_id: int, as_of: str) -> str | None:
    """The newest dated thing a target published: a post, a homepage item, a column item."""
    row = db.execute(
        "SELECT max(x) FROM ("
        " SELECT max(published_at) AS x FROM posts WHERE target_id = ? AND published_at <= ?"
        " UNION ALL SELECT homepage_newest_at FROM sites WHERE target_id = ?"
        " UNION ALL SELECT max(published_at) FROM column_items WHERE target_id = ? AND published_at <= ?)",
        [target_id, as_of, target_id, target_id, as_of],
    ).fetchone()
    return row[0] if row else None


# --- portal aggregates ---------------------------------------------------------------------------


# A check is observed as of its run's clock (runs.as_of): with a frozen or replayed as_of, a probe made
# by that run belongs to that time, not to the wall clock that stamped checked_at.
CHECK_AT = "coalesce(r.as_of, c.checked_at)"
# A probe is evidence about the site when its run is trusted and the answer was not a refusal to us.
PROBE_EVIDENCE = (
    f"(c.run_id IS NULL OR c.run_id IN ({TRUSTED_RUNS})) AND c.outcome NOT IN {NOT_PROBE_EVIDENCE}"
)


def portal_probe_stats(db: Database, *, since: str, as_of: str, target_ids: Sequence[int] | None) -> dict:
    where, params = _scope(target_ids, "c.target_id")
    rows = db.query(
        "SELECT c.target_id, count(*) AS probes, "
        f"sum(NOT (c.ok = 1 AND coalesce(c.within_limit, 1) = 1)) AS failed, max({CHECK_AT}) AS last_at "
        f"FROM checks c LEFT JOIN runs r ON r.id = c.run_id WHERE c.kind = 'probe' AND {PROBE_EVIDENCE} "
        f"AND {CHECK_AT} >= ? AND {CHECK_AT} <= ?{where} GROUP BY c.target_id",
        [since, as_of, *params],
    )
    stats = {r["target_id"]: r for r in rows}
    for r in db.query(
        "SELECT target_id, ok, within_limit, outcome FROM checks WHERE id IN (SELECT max(c.id) FROM checks c "
        f"LEFT JOIN runs r ON r.id = c.run_id WHERE c.kind = 'probe' AND {PROBE_EVIDENCE} "
        f"AND {CHECK_AT} <= ?{where} GROUP BY c.target_id)",
        [as_of, *params],
    ):
        latest = stats.setdefault(r["target_id"], {"probes": 0, "failed": 0})
        latest["latest_ok"] = int(r["ok"] == 1 and (r["within_limit"] is None or r["within_limit"] == 1))
        latest["latest_outcome"] = "slow (over the time limit)" if r["ok"] == 1 else r["outcome"]
    return stats


def portal_sites(db: Database, target_ids: Sequence[int] | None) -> dict[int, dict]:
    where, params = _scope(target_ids, "target_id")
    return {r["target_id"]: r for r in db.query(f"SELECT * FROM sites WHERE 1{where}", params)}


def portal_columns(db: Database, target_ids: Sequence[int] | None) -> dict[int, list[dict]]:
    where, params = _scope(target_ids, "target_id")
    out: dict[int, list[dict]] = {}
    for r in db.query(
        "SELECT id, target_id, url, name, kind, status, item_count, undated_count, newest_item_at, error, "
        f"board_kind, oldest_item_at, pages_followed, truncated FROM columns WHERE 1{where} ORDER BY id",
        params,
    ):
        out.setdefault(r["target_id"], []).append(r)
    return out


def open_messages(
    db: Database,
    *,
    kinds: Sequence[str],
    since: str,
    older_than: str,
    max_days: float,
    target_ids: Sequence[int] | None,
) -> list[dict[str, Any]]:
    """Messages of these board kinds asked in the window and before ``older_than`` and not answered
    within ``max_days``: open, answered late, or of unknown state (the rule tells them apart).

    A reply date within ``max_days`` is an answer in time; so is a status that says answered with no
    reply date shown (answer_state answered, answered_at empty).
    """
    where, params = _scope(target_ids, "target_id")
    return list(
        db.query(
            "SELECT target_id, message_id, url, title, board_url, board_kind, asked_at, answered_at, status, "
            f"coalesce(answer_state, '{AnswerState.UNKNOWN}') AS answer_state FROM messages "
            f"WHERE board_kind IN ({_in(kinds)}) AND asked_at >= ? AND asked_at < ? "
            "AND NOT (CASE WHEN coalesce(answered_at, '') = '' "
            f"THEN coalesce(answer_state, '') = '{AnswerState.ANSWERED}' "
            f"ELSE julianday(answered_at) - julianday(asked_at) <= ? END){where}",
            [*kinds, since, older_than, max_days, *params],
        )
    )


def dead_links(db: Database, target_ids: Sequence[int] | None) -> dict[int, list[dict]]:
    """Dead links of each site's latest trusted link-checking run (the dead_links view the desk reads)."""
    where, params = _scope(target_ids, "target_id")
    out: dict[int, list[dict]] = {}
    for r in db.query(
        f"SELECT target_id, url, found_on, outcome, http_status, checked_at FROM dead_links WHERE 1{where} "
        "ORDER BY check_id",
        params,
    ):
        out.setdefault(r["target_id"], []).append(r)
    return out


# --- writers -------------------------------------------------------------------------------------


def write_rules(db: Database, rules: Mapping[str, Mapping[str, Any]]) -> None:
    for rule_id, r in rules.items():
        db.execute(
            "INSERT INTO rules (id, label, severity, indicator, points, cap, settings) VALUES (?,?,?,?,?,?,?) "  # noqa: E501
            "ON CONFLICT (id) DO UPDATE SET label = excluded.label, severity = excluded.severity, "
            "indicator = excluded.indicator, points = excluded.points, cap = excluded.cap, "
            "settings = excluded.settings",
            [
                rule_id,
                r["label"],
                r["severity"],
                r["indicator"],
                r.get("points"),
                r.get("cap"),
                to_json({k: v for k, v in r.items() if k not in ("label", "severity", "indicator")}),
            ],
        )


def record_closure_state(
    db: Database, *, target_id: int, status: str, reason: str, evidence_url: str | None, at: str, run_id: int
) -> None:
    """The account's closing/closed state from a notice: one row per notice, extended by each run."""
    row = db.execute(
        f"SELECT id, status FROM accounts WHERE target_id = ? AND status IN {in_list(DERIVED_STATUSES)} "
        "AND evidence_url IS ? ORDER BY id DESC LIMIT 1",
        [target_id, evidence_url],
    ).fetchone()
    if row is None:
        db.execute(
            "INSERT INTO accounts (target_id, status, status_reason, evidence_url, first_seen_at, last_seen_at, "  # noqa: E501
            "first_run_id, last_run_id) VALUES (?,?,?,?,?,?,?,?)",
            [target_id, status, reason, evidence_url, at, at, run_id, run_id],
        )
    else:
        db.execute(
            "UPDATE accounts SET status = ?, status_reason = ?, last_seen_at = ?, last_run_id = ? WHERE id = ?",  # noqa: E501
            [status, reason, at, run_id, row[0]],
        )


def _existing_findings(
    db: Database, target_ids: Iterable[int], found: Iterable[tuple[int, str, str]]
) -> dict[tuple[int, str, str], tuple]:
    """(target, rule, subject) -> (id, evidence, resolved_at, points): the open findings of the targets,
    and the resolved ones among ``found`` (one found again re-opens whatever it said: no evidence)."""
    ids = sorted(set(target_ids))
    out: dict[tuple[int, str, str], tuple] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for row in db.conn.execute(
            "SELECT target_id, rule, subject, id, evidence, resolved_at, points FROM findings "
            f"WHERE resolved_at IS NULL AND target_id IN ({_in(chunk)})",
            chunk,
        ):
            out[(row[0], row[1], row[2])] = row[3:]
    for key in {k for k in found if k not in out}:
        row = db.conn.execute(
            "SELECT id, NULL, resolved_at, points FROM findings "
            "WHERE target_id = ? AND rule = ? AND subject = ?",
            key,
        ).fetchone()
        if row is not None:
            out[key] = tuple(row)
    return out


# Evidence that moves with the clock alone (ages, the time of the latest check) is updated in place
# but is not a "changed" event: otherwise every daily run would log one per open finding.
VOLATILE_EVIDENCE = frozenset(
    {"days_since", "days_open", "checked_at", "longest_gap_days", "days_out_of_compliance", "gaps_over"}
)


def _stable(evidence: str | None) -> Any:
    data = json.loads(evidence) if evidence else None
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k not in VOLATILE_EVIDENCE}
    return data


def sync_findings(
    db: Database,
    *,
    found: Iterable[Mapping[str, Any]],
    scope: Mapping[int, set[str]],
    as_of: str,
    run_id: int,
) -> dict[str, int]:
    """Upsert current findings, reopen resolved ones, resolve what was in scope and is gone.

    ``scope`` names, per target, the rules that were evaluated this run: a rule that could not be
    evaluated (no data) neither opens nor resolves anything. Set-based: a few statements per run.
    """
    found = list(found)
    counts = {"opened": 0, "reopened": 0, "changed": 0, "unchanged": 0, "resolved": 0}
    existing = _existing_findings(
        db,
        [*scope, *(f["target_id"] for f in found)],
        [(f["target_id"], f["rule"], f["subject"]) for f in found],
    )
    seen: set[tuple[int, str, str]] = set()
    events: list[tuple] = []
    touched: list[tuple] = []
    untouched: list[tuple] = []
    seen_again: list[int] = []  # nothing but the time it was last seen changes
    for f in found:
        key = (f["target_id"], f["rule"], f["subject"])
        if key in seen:
            continue
        seen.add(key)
        evidence = to_json(f["evidence"])
        values = (f["label"], f["severity"], f["indicator"], evidence, f.get("points"), f.get("profile"))
        old = existing.get(key)
        if old is None:
            cur = db.conn.execute(
                "INSERT INTO findings (target_id, rule, subject, label, severity, indicator, evidence, points, "  # noqa: E501
                "profile, first_seen_at, last_seen_at, first_run_id, last_run_id) VALUES "
                "(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [*key, *values, as_of, as_of, run_id, run_id],
            )
            events.append((cur.lastrowid, *key, "opened", as_of, run_id, evidence))
            counts["opened"] += 1
            continue
        fid, old_evidence, resolved_at, old_points = old
        if resolved_at is not None or (
            old_evidence != evidence and _stable(old_evidence) != _stable(evidence)
        ):
            kind = "reopened" if resolved_at is not None else "changed"
            events.append((fid, *key, kind, as_of, run_id, evidence))
            counts[kind] += 1
            touched.append((*values, as_of, run_id, fid))
        else:
            counts["unchanged"] += 1
            if old_evidence == evidence and old_points == f.get("points"):
                seen_again.append(fid)
            else:
                untouched.append((evidence, f.get("points"), as_of, run_id, fid))
    db.conn.executemany(
        "UPDATE findings SET label = ?, severity = ?, indicator = ?, evidence = ?, points = ?, profile = ?, "
        "last_seen_at = ?, last_run_id = ?, resolved_at = NULL WHERE id = ?",
        touched,
    )
    db.conn.executemany(
        "UPDATE findings SET evidence = ?, points = ?, last_seen_at = ?, last_run_id = ? WHERE id = ?",
        untouched,
    )
    db.conn.execute(
        "UPDATE findings SET last_seen_at = ?, last_run_id = ? WHERE id IN (SELECT value FROM json_each(?))",
        [as_of, run_id, json.dumps(seen_again)],
    )
    resolved = [
        (key, old[0])
        for key, old in existing.items()
        if old[2] is None and key not in seen and key[1] in scope.get(key[0], ())
    ]
    # One statement over the ids in order, not one per finding: a first run over the desk's database
    # resolves 44,000, each moving six of the table's indexes (1.4 s as one statement each, 0.8 s so).
    db.conn.execute(
        "UPDATE findings SET resolved_at = ?, last_run_id = ? WHERE id IN (SELECT value FROM json_each(?))",
        [as_of, run_id, json.dumps(sorted(fid for _, fid in resolved))],
    )
    events.extend((fid, *key, "resolved", as_of, run_id, None) for key, fid in resolved)
    counts["resolved"] = len(resolved)
    db.conn.executemany(
        "INSERT INTO finding_events (finding_id, target_id, rule, subject, event, at, run_id, evidence) "
        "VALUES (?,?,?,?,?,?,?,?)",
        events,
    )
    return counts


def finding_history(db: Database, finding_id: int) -> list[dict[str, Any]]:
    return [
        {**r, "evidence": json.loads(r["evidence"]) if r["evidence"] else None}
        for r in db.query("SELECT * FROM finding_events WHERE finding_id = ? ORDER BY id", [finding_id])
    ]


# --- verdicts and evaluation errors --------------------------------------------------------------


def existing_verdicts(db: Database, target_ids: Iterable[int]) -> dict[int, dict]:
    ids = sorted(set(target_ids))
    out: dict[int, dict] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for r in db.query(f"SELECT * FROM verdicts WHERE target_id IN ({_in(chunk)})", chunk):
            out[r["target_id"]] = r
    return out


VERDICT_COLUMNS = (
    "target_id",
    "verdict",
    "score",
    "coverage",
    "reason",
    "vetoes",
    "veto_labels",
    "deductions",
    "infos",
    "breakdown",
    "judged_run_id",
    "detect_run_id",
    "as_of",
    "held",
    "note",
    "updated_at",
)


def write_verdicts(db: Database, rows: Iterable[Mapping[str, Any]]) -> None:
    cols = ", ".join(VERDICT_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in VERDICT_COLUMNS if c != "target_id")
    db.conn.executemany(
        f"INSERT INTO verdicts ({cols}) VALUES ({_in(VERDICT_COLUMNS)}) "
        f"ON CONFLICT (target_id) DO UPDATE SET {updates}",
        [[r.get(c) for c in VERDICT_COLUMNS] for r in rows],
    )


def hold_verdicts(db: Database, held: Mapping[int, str], *, detect_run_id: int, as_of: str, at: str) -> None:
    """Targets whose latest run had a crawler-side problem: the verdict stays, with a note saying why
    (a target never judged before is 无法检查 with that reason)."""
    for target_id, note in held.items():
        cur = db.execute(
            "UPDATE verdicts SET held = 1, note = ?, detect_run_id = ?, updated_at = ? WHERE target_id = ?",
            [note, detect_run_id, at, target_id],
        )
        if cur.rowcount == 0:
            db.execute(
                "INSERT INTO verdicts (target_id, verdict, coverage, reason, held, note, detect_run_id, "
                "as_of, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
                [
                    target_id,
                    Verdict.UNCHECKED.value,
                    Coverage.UNREAD.value,
                    note,
                    note,
                    detect_run_id,
                    as_of,
                    at,
                ],
            )


def record_detect_errors(db: Database, run_id: int, errors: Iterable[Mapping[str, Any]]) -> int:
    rows = [
        (run_id, e.get("target_id"), e["rule"], e.get("post_id"), e["error"][:2000], e["at"]) for e in errors
    ]
    db.conn.executemany(
        "INSERT INTO detect_errors (run_id, target_id, rule, post_id, error, at) VALUES (?,?,?,?,?,?)", rows
    )
    return len(rows)


def add_run_stats(db: Database, run_id: int, stats: Mapping[str, Any]) -> None:
    """Merge ``stats`` into a finished run's stats JSON (detection's summary on the crawl's run)."""
    row = db.execute("SELECT stats FROM runs WHERE id = ?", [run_id]).fetchone()
    current = json.loads(row[0]) if row and row[0] else {}
    current.update(stats)
    db.execute("UPDATE runs SET stats = ? WHERE id = ?", [to_json(current), run_id])
