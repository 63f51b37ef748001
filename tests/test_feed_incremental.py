"""The feed spider re-checks with conditional requests: an unchanged feed is one 304, recorded as ok."""

from __future__ import annotations

from pathlib import Path

from db import open_db
from tests.helpers import run_scrapy


def test_unchanged_feeds_answer_304(crawl_copy: Path) -> None:
    """A re-check of the session's shared crawl (a private copy of its database)."""
    db_path = crawl_copy
    db = open_db(db_path)
    posts, accounts = db["posts"].count, db["accounts"].count
    assert db["http_validators"].count >= 10
    db.close()
    run_scrapy("crawl", "feed", db_path=db_path)
    db = open_db(db_path)
    run_id = next(db.query("SELECT max(id) AS id FROM runs"))["id"]
    outcomes = [r["outcome"] for r in db.query("SELECT outcome FROM checks WHERE run_id = ?", [run_id])]
    assert outcomes.count("not_modified") == 10  # the posting feeds (the malformed one is re-read)
    costs = list(db.query("SELECT * FROM run_targets WHERE run_id = ? AND spider = 'feed'", [run_id]))
    assert costs
    assert max(c["requests"] for c in costs if c["not_modified"]) == 1
    assert sum(c["new_posts"] for c in costs) == 0
    assert (db["posts"].count, db["accounts"].count) == (posts, accounts)
    # A 304 is a successful check and moves the account's last_seen_at forward.
    seen = next(db.query("SELECT count(*) AS n FROM accounts WHERE last_run_id = ?", [run_id]))["n"]
    assert seen >= 10
