"""`scrapy crawl feed` against the demo world: rows in the real SQLite file, states, idempotence.

The first crawl is the session's shared one; re-crawls write to a private copy of its database.
"""

from __future__ import annotations

import json
from pathlib import Path

from db import open_db, table_counts
from tests.conftest import Crawl
from tests.helpers import run_scrapy

TABLES = ("targets", "posts", "accounts", "findings")


def outcomes_by_tag(db_path: Path, run_id: int) -> dict[str, str]:
    db = open_db(db_path)
    rows = db.query(
        "SELECT t.tags, c.outcome FROM checks c JOIN targets t ON t.id = c.target_id WHERE c.run_id = ?",
        [run_id],
    )
    return {json.loads(r["tags"])[1]: r["outcome"] for r in rows}


def test_feed_crawl_end_to_end(world_crawl: Crawl) -> None:
    demo_world, db_path = world_crawl.world, world_crawl.db_path
    db = open_db(db_path)
    posting = [a for a in demo_world.world.feed_accounts if a.posts and a.archetype != "malformed"]
    feed_posts = db.execute("SELECT count(*) FROM posts WHERE platform = 'feed'").fetchone()[0]
    assert feed_posts == sum(len(a.posts) for a in posting)

    run = next(db.query("SELECT * FROM runs WHERE spider = 'feed'"))
    assert run["spider"] == "feed"
    assert run["finish_reason"] == "finished"
    assert run["requests"] >= len(demo_world.world.feed_accounts)
    assert json.loads(run["stats"])["monitor/run_id"] == run["id"]

    assert outcomes_by_tag(db_path, run["id"]) == {
        "active": "ok",
        "atom_active": "ok",
        "stale": "ok",
        "zombie": "ok",
        "closed": "ok",
        "closing": "ok",
        "repost_heavy": "ok",
        "poster_only": "ok",
        "weekly_report_only": "ok",
        "hard_negative": "ok",
        "deleted": "gone",
        "login_wall": "login_required",
        "dead_link": "not_found",
        "malformed": "malformed",
        "unreachable": "refused",
    }
    deleted = next(
        db.query(
            "SELECT a.status, a.status_reason FROM accounts a JOIN targets t ON t.id = a.target_id "
            "WHERE t.tags LIKE '%\"deleted\"%'"
        )
    )
    assert deleted == {"status": "deleted", "status_reason": "此帐号已自主注销"}

    # Stored as the source gave it, normalised: +08:00 ISO, HTML stripped, repost source kept.
    stale = demo_world.world.account("qingshan-jiaoyu")
    newest = next(
        db.query(
            "SELECT max(p.published_at) AS newest FROM posts p JOIN targets t ON t.id = p.target_id "
            "WHERE t.name = ?",
            [stale.name],
        )
    )["newest"]
    assert newest == stale.newest.isoformat()
    repost = next(db.query("SELECT * FROM posts WHERE repost_source IS NOT NULL LIMIT 1"))
    assert repost["is_repost"] == 1
    assert repost["is_original"] == 0
    assert "<p>" not in repost["text"]
    assert repost["text"].startswith("来源：")
    poster = next(db.query("SELECT count(*) AS n FROM posts WHERE text_length = 0 AND image_count = 1"))
    assert poster["n"] > 0
    # Full-text search (trigram: Chinese substrings of 3+ characters).
    hits = list(
        db.query(
            "SELECT p.title FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid WHERE posts_fts MATCH ?",
            ['"停止更新"'],
        )
    )
    assert any("停止更新" in h["title"] for h in hits)


def feed_checks(db_path: Path) -> int:
    db = open_db(db_path)
    try:
        return int(db.execute("SELECT count(*) FROM checks WHERE kind = 'feed'").fetchone()[0])
    finally:
        db.close()


def test_rerun_does_not_duplicate(world_crawl: Crawl, crawl_copy: Path) -> None:
    db = open_db(crawl_copy)
    first = table_counts(db, TABLES)
    runs_first = db["runs"].count
    db.close()
    checks_first = feed_checks(crawl_copy)
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=crawl_copy)
    run_scrapy("crawl", "feed", db_path=crawl_copy)
    db = open_db(crawl_copy)
    assert table_counts(db, TABLES) == first
    assert db["runs"].count == runs_first + 1
    db.close()
    # Checks are observations over time: one new row per fetch, in the new run.
    assert feed_checks(crawl_copy) == 2 * checks_first


def test_new_post_is_added_once(world_crawl: Crawl, crawl_copy: Path) -> None:
    before = open_db(crawl_copy)["posts"].count
    with world_crawl.world.world.changed() as world:
        world.add_post("qingshan-jiaoyu", "恢复更新", "本周工作动态。")
        run_scrapy("crawl", "feed", db_path=crawl_copy)
        run_scrapy("crawl", "feed", db_path=crawl_copy)
    db = open_db(crawl_copy)
    assert db["posts"].count == before + 1
    assert next(db.query("SELECT title FROM posts ORDER BY published_at DESC LIMIT 1")) == {
        "title": "恢复更新"
    }
