"""The schema: migrations apply once and upgrade in place; WAL; upserts keep first-seen values."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from db import open_db, upsert
from db.migrations import migrations


def test_migrations_apply_once_and_upgrade_in_place(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    db = open_db(path)
    applied = [m.name for m in migrations.applied(db)]
    assert applied[:2] == ["m001_targets", "m001_runs"]
    assert not migrations.pending(db)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    # An "old" database: only the first migration applied; opening it brings it up to date.
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.close()
    from sqlite_utils import Database

    raw = Database(old)
    migrations.apply(raw, stop_before="m001_runs")
    assert set(raw.table_names()) >= {"targets"}
    assert "runs" not in raw.table_names()
    raw.close()
    upgraded = open_db(old)
    assert {"runs", "posts", "checks", "findings", "accounts"} <= set(upgraded.table_names())
    assert [m.name for m in migrations.applied(upgraded)] == applied


def test_schema_keys_and_indexes(tmp_path: Path) -> None:
    db = open_db(tmp_path / "monitor.db")
    assert db["posts"].pks == ["id"]
    assert {fk.other_table for fk in db["posts"].foreign_keys} == {"targets", "runs"}
    unique = {tuple(i.columns) for i in db["posts"].indexes if i.unique}
    assert ("target_id", "post_id") in unique
    assert ("target_id", "rule", "subject") in {tuple(i.columns) for i in db["findings"].indexes}
    assert db["posts"].detect_fts() == "posts_fts"


def test_upsert_keeps_first_seen(tmp_path: Path) -> None:
    db = open_db(tmp_path / "monitor.db")
    db["targets"].insert({"platform": "feed", "key": "k", "name": "n"})
    row = {
        "target_id": 1,
        "platform": "feed",
        "post_id": "p1",
        "title": "a",
        "first_seen_at": "2024-01-01T00:00:00+08:00",
    }
    first = upsert(db, "posts", row, key=("target_id", "post_id"), keep=("first_seen_at",))
    second = upsert(
        db,
        "posts",
        {**row, "title": "b", "first_seen_at": "2025-01-01T00:00:00+08:00"},
        key=("target_id", "post_id"),
        keep=("first_seen_at",),
    )
    assert first == second
    assert next(db.query("SELECT title, first_seen_at FROM posts")) == {
        "title": "b",
        "first_seen_at": "2024-01-01T00:00:00+08:00",
    }


def test_account_identities_are_kept_once_seen(tmp_path: Path) -> None:
    from db import record_account
    from db.accounts import load_account_ids

    db = open_db(tmp_path / "monitor.db")
    assert {"gh_id", "wechat_id", "timeline_containerid"} <= set(db["accounts"].columns_dict)
    db["targets"].insert({"platform": "wechat", "key": "k", "name": "临江发布"})
    base = {"target_id": 1, "status": "active", "name": "临江发布", "run_id": None}
    first = record_account(db, {**base, "gh_id": "gh_3f9e2a1b7c4d", "seen_at": "2026-06-01T00:00:00+08:00"})
    # A Sogou result shows the 微信号 and no 原始ID: the 原始ID stays on the new observation.
    second = record_account(db, {**base, "wechat_id": "linjiangfabu", "seen_at": "2026-06-02T00:00:00+08:00"})
    assert second != first
    row = db["accounts"].get(second)
    assert (row["gh_id"], row["wechat_id"]) == ("gh_3f9e2a1b7c4d", "linjiangfabu")
    # Seen again without either: the same state, only last_seen_at moves.
    third = record_account(db, {**base, "seen_at": "2026-06-03T00:00:00+08:00"})
    assert third == second
    assert db["accounts"].get(second)["last_seen_at"] == "2026-06-03T00:00:00+08:00"
    assert load_account_ids(db, [1, 2]) == {1: {"gh_id": "gh_3f9e2a1b7c4d", "wechat_id": "linjiangfabu"}}
