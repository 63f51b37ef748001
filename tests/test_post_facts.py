"""Detection reuses each account's facts over posts (aggregates, update gaps) and the near-duplicate
clusters from the last run only where they cannot differ: the reused facts equal a fresh read after any
sequence of inserts, edits, deletes (by plain SQL or by the store's bulk writer) and check times moving
either way across every window edge."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from core.clock import CHINA_TZ, iso
from db import bulk, open_db
from db import detection as q
from detection.post_facts import FactWindows, PostFactsRead, reuse_clusters
from detection.rules.config import load_rules
from detection.service import _cluster_targets, detect
from tests.helpers import run_scrapy

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=CHINA_TZ)
NOW = iso(AS_OF)
RULES = load_rules()
BASE = RULES.resolved(RULES.default_profile)
GAP_KEYS = tuple(
    sorted(
        {
            (s["account.update_gaps"]["window_days"], s["account.update_gaps"]["max_gap_days"])
            for s in (RULES.resolved(p) for p in (RULES.default_profile, "周更", "10天"))
        }
    )
)
WINDOWS = FactWindows(
    content_days=BASE["account.repost_heavy"]["window_days"],
    year_days=BASE["account.zombie"]["notice_only_window_days"],
    max_text_length=BASE["account.poster_only"]["max_text_length"],
    meeting_words=tuple(BASE["account.meeting_heavy"]["title_words"]),
    gap_keys=GAP_KEYS,
)
# Ages (days) a post may have: next to every window edge, so a check time moving by hours moves posts
# across them.
EDGES = sorted({0.0, 30.0, WINDOWS.content_days, WINDOWS.year_days, *(w for w, _ in GAP_KEYS)})
TARGETS = 4


def in_place(database: Database) -> Callable[..., Callable[[], Any]]:
    def submit(query: Callable[..., Any], **kwargs: Any) -> Callable[[], Any]:
        result = query(database, **kwargs)
        return lambda: result

    return submit


def fresh_facts(database: Database, as_of: datetime, accounts: list[int]) -> tuple[dict, dict]:
    edges = WINDOWS.edges(as_of)
    aggs = q.post_aggregates(
        database,
        as_of=edges["as_of"],
        window_start=edges["content"],
        year_start=edges["year"],
        month_start=edges["month"],
        max_text_length=WINDOWS.max_text_length,
        meeting_words=WINDOWS.meeting_words,
        target_ids=None,
    )
    gaps = {
        (w, g): {
            t: v
            for t, v in q.gap_aggregates(
                database, since=edges[f"gaps {w}"], as_of=edges["as_of"], max_gap_days=g, target_ids=None
            ).items()
            if t in accounts
        }
        for w, g in GAP_KEYS
    }
    return {t: v for t, v in aggs.items() if t in accounts}, gaps


def new_db(path: Path) -> tuple[Database, list[int]]:
    database = open_db(path)
    ids = [
        int(
            database["targets"]
            .insert(
                {
                    "platform": "wechat",
                    "key": f"号{i}",
                    "name": f"号{i}",
                    "active": 1,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            .last_pk
        )
        for i in range(TARGETS)
    ]
    return database, ids


def post_row(
    tid: int, n: int, published: datetime, pinned: bool, title: str, text: str | None = None
) -> dict[str, Any]:
    return {
        "target_id": tid,
        "platform": "wechat",
        "post_id": f"p{n}",
        "title": title,
        "text": text or f"{title}的正文，第{n}篇。",
        "published_at": iso(published),
        "is_original": n % 2,
        "is_repost": int(n % 3 == 0),
        "is_pinned": int(pinned),
        "text_length": 10 + n % 30,
        "image_count": n % 2,
        "first_seen_at": NOW,
        "updated_at": NOW,
    }


ages = st.builds(
    lambda edge, hours: max(edge * 24 + hours, -48) / 24,
    st.sampled_from(EDGES),
    st.integers(-30, 30),
)
titles = st.sampled_from(["市政府召开常务会议", "便民服务指南", "安全生产工作动态", "通知"])
operation = st.one_of(
    st.tuples(
        st.just("insert"),
        st.integers(0, TARGETS - 1),
        ages,
        st.booleans(),
        titles,
        st.booleans(),  # through the bulk writer
    ),
    st.tuples(st.just("edit"), st.integers(0, 10_000), ages, st.booleans(), st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 10_000)),
    st.tuples(st.just("clock"), st.integers(-72, 24 * 40)),
    st.tuples(st.just("detect")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operation, min_size=3, max_size=25))
# a post exactly at the later check time (an hour ahead of the first); one exactly at the first run's
# content-window edge, which the later run's window has left behind
@example([("insert", 0, -1 / 24, False, "通知", False), ("detect",), ("clock", 1), ("detect",)])
@example([("insert", 1, 90.0, False, "通知", True), ("detect",), ("clock", 1), ("detect",)])
@example([("insert", 2, 30.0, False, "通知", False), ("detect",), ("clock", -1), ("detect",)])
def test_reused_facts_equal_a_fresh_read(tmp_path_factory: Any, ops: list[tuple]) -> None:
    database, ids = new_db(tmp_path_factory.mktemp("facts") / "d.db")
    as_of = AS_OF
    n = 0
    reused_any = False
    for op in ops:
        kind = op[0]
        if kind == "insert":
            _, t, age, pinned, title, through_writer = op
            n += 1
            row = post_row(ids[t], n, AS_OF - timedelta(days=age), pinned, title)
            if through_writer:
                with database.conn:
                    bulk.write_posts(database, [row], owner="test")
            else:
                database["posts"].insert(row)
        elif kind == "edit":
            _, pick, age, pinned, through_writer = op
            rows = list(database.query("SELECT * FROM posts ORDER BY id"))
            if rows:
                row = rows[pick % len(rows)]
                changed = {"published_at": iso(AS_OF - timedelta(days=age)), "is_pinned": int(pinned)}
                if through_writer:  # the store seeing the post again, moved or (un)pinned
                    keep = (
                        "target_id",
                        "platform",
                        "post_id",
                        "title",
                        "text",
                        "is_original",
                        "is_repost",
                        "text_length",
                        "image_count",
                        "first_seen_at",
                        "updated_at",
                    )
                    with database.conn:
                        bulk.write_posts(database, [{**{k: row[k] for k in keep}, **changed}], owner="t")
                else:
                    database["posts"].update(row["id"], changed)
        elif kind == "delete":
            rows = database.execute("SELECT id FROM posts ORDER BY id").fetchall()
            if rows:
                database.execute("DELETE FROM posts WHERE id = ?", [rows[op[1] % len(rows)][0]])
        elif kind == "clock":
            as_of = as_of + timedelta(hours=op[1])
        else:
            reader = PostFactsRead(database, in_place(database), WINDOWS, as_of, ids, None)
            facts = reader.result()
            reused_any |= facts.reused > 0
            aggs, gaps = fresh_facts(database, as_of, ids)
            assert facts.aggregates == aggs
            assert facts.gaps == gaps
            assert facts.read + facts.reused == TARGETS
    database.close()


def test_an_unchanged_run_reuses_everything_and_judges_the_same(tmp_path: Path) -> None:
    """Through `scrapy detect`: the second run reads no account's posts and reuses the clusters; a post
    added by SQL is read for its account only; --full agrees with both."""
    db_path = tmp_path / "m.db"
    database, ids = new_db(db_path)
    for t in ids:
        run = int(database["runs"].insert({"spider": "t", "started_at": NOW, "trusted": 1}).last_pk)
        database["checks"].insert(
            {
                "target_id": t,
                "kind": "api",
                "url": f"http://t/{t}",
                "outcome": "ok",
                "ok": 1,
                "checked_at": NOW,
                "run_id": run,
            }
        )
        for n in range(12):
            age = 3 * n + (20 if t == ids[0] else 0)  # the first account stopped 20 days ago
            shared = n < 6  # a 通稿 every account reposts
            title = "全省统一部署安全生产大检查工作" if shared else f"号{t}的第{n}条动态"
            text = "根据省政府统一部署，全省开展安全生产大检查，各地各部门要压实责任，确保取得实效。"
            database["posts"].insert(
                post_row(t, n, AS_OF - timedelta(days=age), False, title, text if shared else None)
            )
    database.close()

    def run(*extra: str, path: Path = db_path) -> dict[str, Any]:
        out = run_scrapy("detect", "--json", *extra, db_path=path, MONITOR_AS_OF=NOW)
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    def state() -> tuple[list[Any], list[Any]]:
        d = open_db(db_path)
        try:
            found = [
                tuple(r)
                for r in d.execute(
                    "SELECT target_id, rule, subject, evidence, resolved_at FROM findings ORDER BY 1, 2, 3"
                )
            ]
            verdicts = [
                tuple(r)
                for r in d.execute("SELECT target_id, verdict, score, breakdown FROM verdicts ORDER BY 1")
            ]
            return found, verdicts
        finally:
            d.close()

    first = run()
    assert (first["facts_read"], first["facts_reused"], first["clusters_reused"]) == (TARGETS, 0, False)
    after_first = state()
    assert {("account.duplicate_posts"), ("account.no_update_14d")} <= {r[1] for r in after_first[0]}
    second = run()
    assert (second["facts_read"], second["facts_reused"], second["clusters_reused"]) == (0, TARGETS, True)
    assert state() == after_first

    d = open_db(db_path)
    d["posts"].insert(post_row(ids[0], 99, AS_OF - timedelta(hours=1), False, "今日动态"))
    d.close()
    third = run()
    assert (third["facts_read"], third["facts_reused"], third["clusters_reused"]) == (1, TARGETS - 1, False)
    incremental = state()
    assert "account.no_update_14d" not in {r[1] for r in incremental[0] if r[0] == ids[0] and r[4] is None}

    copy = tmp_path / "full.db"
    with sqlite3.connect(db_path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    full = run("--full", path=copy)
    assert (full["facts_read"], full["clusters_reused"]) == (TARGETS, False)
    assert full["lifecycle"]["changed"] == full["lifecycle"]["opened"] == full["lifecycle"]["resolved"] == 0
    d = open_db(copy)
    assert [
        tuple(r)
        for r in d.execute(
            "SELECT target_id, rule, subject, evidence, resolved_at FROM findings ORDER BY 1, 2, 3"
        )
    ] == incremental[0]
    d.close()


def test_reused_clusters_equal_fresh_ones(tmp_path: Path) -> None:
    """The clusters a run keeps are the ones the next run would compute; a changed SimHash is noticed."""
    database, ids = new_db(tmp_path / "c.db")
    for t in ids:
        for n in range(5):
            database["posts"].insert(
                post_row(
                    t,
                    n,
                    AS_OF - timedelta(days=n),
                    False,
                    "统一转发的通稿" if n < 3 else f"{t}号{n}",
                    "统一转发的通稿正文，各单位认真学习贯彻落实。" if n < 3 else None,
                )
            )
    detect(database, as_of=AS_OF)
    since = iso(AS_OF - timedelta(days=BASE["account.duplicate_posts"]["window_days"]))
    hamming = BASE["account.duplicate_posts"]["max_hamming"]
    again = detect(database, as_of=AS_OF)
    assert again.clusters_reused
    fresh = _cluster_targets(q.simhashes(database, since=since, as_of=NOW), hamming)
    assert any(v[0] for v in fresh.values())
    database.execute("UPDATE post_features SET simhash = simhash + 1 WHERE post_rowid = 1")
    third = detect(database, as_of=AS_OF)
    assert not third.clusters_reused


# SimHashes near each other (one bit apart) and far apart, signed as SQLite stores them, with the bits the
# window checksum splits at.
HASHES = (0, 1, 3, 1 << 31, (1 << 31) | 1, 1 << 62, -1, -2, -(1 << 63), 0x5A5A_5A5A_5A5A_5A5A)
cluster_change = st.one_of(
    st.tuples(st.just("add"), st.integers(0, TARGETS - 1), ages, st.sampled_from(HASHES)),
    st.tuples(st.just("drop"), st.integers(0, 10_000)),
    st.tuples(st.just("rehash"), st.integers(0, 10_000), st.sampled_from(HASHES)),
    st.tuples(st.just("retarget"), st.integers(0, 10_000), st.integers(0, TARGETS - 1)),
    st.tuples(
        st.just("swap"),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
        st.sampled_from(["simhash", "target_id"]),
    ),
    st.tuples(st.just("clock"), st.integers(-72, 24 * 40)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(cluster_change, min_size=2, max_size=20))
@example(
    [
        ("add", 0, 1.0, 1),
        ("add", 1, 2.0, 0x5A5A_5A5A_5A5A_5A5A),
        ("add", 2, 3.0, 1),
        ("swap", 0, 1, "simhash"),
    ]
)
@example([("add", 0, 0.0, 1), ("add", 1, 0.0, 1), ("retarget", 0, 1), ("retarget", 1, 0)])
@example([("add", 0, 30.0, 0), ("add", 1, 29.0, 3), ("clock", 24), ("rehash", 1, 1)])
def test_clusters_are_reused_only_when_the_window_holds_the_same_rows(
    tmp_path_factory: Any, ops: list
) -> None:
    """Nothing marked and nothing hashed (the hardest case: only the checksum stands between the kept
    clusters and wrong ones): after any one row of the window added, dropped, re-hashed or moved to
    another account, two rows trading SimHashes or accounts, and the check time moving either way across
    the window's edges, the clusters a run uses equal the ones computed from the rows."""
    database, ids = new_db(tmp_path_factory.mktemp("clusters") / "c.db")
    hamming = BASE["account.duplicate_posts"]["max_hamming"]
    days = BASE["account.duplicate_posts"]["window_days"]
    as_of, n = AS_OF, 0

    def check() -> bool:
        since, upto = iso(as_of - timedelta(days=days)), iso(as_of)
        got, reused = reuse_clusters(database, since, upto, hamming, _cluster_targets, changed=False)
        fresh = _cluster_targets(q.simhashes(database, since=since, as_of=upto), hamming)
        assert {t: (d, k, tuple(p)) for t, (d, k, p) in got.items()} == fresh
        return reused

    def rows() -> list[int]:
        return [r[0] for r in database.execute("SELECT post_rowid FROM post_features ORDER BY 1")]

    check()
    for op in ops:
        kind = op[0]
        if kind == "add":
            n += 1
            rowid = (
                database["posts"]
                .insert(post_row(ids[op[1]], n, AS_OF - timedelta(days=op[2]), False, "动态"))
                .last_pk
            )
            database.execute("UPDATE post_features SET simhash = ? WHERE post_rowid = ?", [op[3], rowid])
        elif kind == "clock":
            as_of += timedelta(hours=op[1])
        elif kind == "swap" and len(existing := rows()) > 1:  # two rows trade hashes or accounts at once
            a, b = existing[op[1] % len(existing)], existing[op[2] % len(existing)]
            column = op[3]
            va, vb = (
                database.execute(f"SELECT {column} FROM post_features WHERE post_rowid = ?", [x]).fetchone()[
                    0
                ]
                for x in (a, b)
            )
            for rowid, value in ((a, vb), (b, va)):
                database.execute(
                    f"UPDATE post_features SET {column} = ? WHERE post_rowid = ?", [value, rowid]
                )
        elif kind != "swap" and (existing := rows()):
            rowid = existing[op[1] % len(existing)]
            change = {
                "drop": ("simhash", None),
                "rehash": ("simhash", op[-1]),
                "retarget": ("target_id", None),
            }
            column, value = change[kind]
            if kind == "retarget":
                value = ids[op[2]]
            database.execute(f"UPDATE post_features SET {column} = ? WHERE post_rowid = ?", [value, rowid])
        database.conn.commit()
        check()
        assert check(), "a second run over the same rows reuses the clusters"
    database.close()


def test_a_post_written_while_detection_reads_is_read_by_the_next_run(tmp_path: Path) -> None:
    """A crawl may commit between detection dropping the marks and keeping what it read: its mark stays,
    so what was kept from before the post is not reused."""
    database, ids = new_db(tmp_path / "r.db")
    database["posts"].insert(post_row(ids[0], 1, AS_OF - timedelta(days=3), False, "通知"))
    reading = PostFactsRead(database, in_place(database), WINDOWS, AS_OF, ids, None)  # read now
    with database.conn:  # a crawl's batch lands before this run keeps its facts
        bulk.write_posts(
            database, [post_row(ids[0], 2, AS_OF - timedelta(hours=2), False, "动态")], owner="c"
        )
    reading.result()
    later = PostFactsRead(database, in_place(database), WINDOWS, AS_OF, ids, None).result()
    assert (later.read, later.reused) == (1, TARGETS - 1)
    assert later.aggregates[ids[0]]["window_posts"] == 2
    assert (later.aggregates, later.gaps) == fresh_facts(database, AS_OF, ids)
