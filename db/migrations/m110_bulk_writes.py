"""Bulk writes: the store feeds the posts' full-text index and the detection queue once per batch.

Per-row triggers cost about 0.1 ms a post in the trigram index alone. While a connection holds a row in
``bulk_writes`` (inside its own transaction, so no other connection ever sees it) the insert and update
triggers stand aside and that writer indexes and queues the batch's posts itself (db/posts.py). Every
other writer (tests, imports, a hand-written UPDATE) keeps the triggers. An UPDATE that leaves title and
text alone no longer rewrites the index.
"""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations

IDLE = "NOT EXISTS (SELECT 1 FROM bulk_writes)"


@migrations()
def m110_bulk_triggers(db: Database) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS bulk_writes (owner TEXT PRIMARY KEY)")
    for name in ("posts_ai", "posts_au", "posts_features_new", "posts_features_stale"):
        db.execute(f"DROP TRIGGER IF EXISTS [{name}]")
    db.execute(f"""
    CREATE TRIGGER posts_ai AFTER INSERT ON posts WHEN {IDLE}
    BEGIN
      INSERT INTO posts_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
    END
    """)
    db.execute(f"""
    CREATE TRIGGER posts_au AFTER UPDATE OF title, text ON posts WHEN {IDLE}
    BEGIN
      INSERT INTO posts_fts (posts_fts, rowid, title, text) VALUES ('delete', old.rowid, old.title, old.text);
      INSERT INTO posts_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
    END
    """)
    db.execute(f"""
    CREATE TRIGGER posts_features_new AFTER INSERT ON posts WHEN {IDLE}
    BEGIN
      INSERT OR IGNORE INTO post_features (post_rowid, target_id, published_at, notice_checked)
      VALUES (new.id, new.target_id, new.published_at, 0);
    END
    """)
    db.execute(f"""
    CREATE TRIGGER posts_features_stale AFTER UPDATE OF title, text, published_at ON posts
    WHEN {IDLE} AND (coalesce(old.title, '') != coalesce(new.title, '')
      OR coalesce(old.text, '') != coalesce(new.text, '')
      OR coalesce(old.published_at, '') != coalesce(new.published_at, ''))
    BEGIN
      UPDATE post_features SET notice_checked = 0, notice = NULL, simhash = NULL,
        published_at = new.published_at WHERE post_rowid = old.id;
    END
    """)
