"""Detection keeps, per target, what it last read from the target's posts, so a run over posts that did
not change reads only what did (detection/post_facts.py).

- ``detect_facts``: a target's aggregates and update gaps over its posts, with the check time (as_of)
  and the parameters (windows, thresholds) they were computed for.
- ``detect_dirty``: targets whose posts changed since. Triggers mark them for every plain INSERT, UPDATE
  and DELETE on posts; the store's bulk writer (db/bulk.py), for which those triggers stand aside,
  marks its batches' targets itself. Detection forgets a marked target's facts and its mark in one
  transaction before it reads anything, so a run that fails leaves facts missing, never stale.
- ``detect_cache``: other results detection may reuse, by key, with the fingerprint of what they were
  computed from (the near-duplicate clusters: of the window's SimHashes).
"""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations
from db.migrations.m110_bulk_writes import IDLE


def mark(target: str) -> str:
    """A trigger's mark: not INSERT OR IGNORE, whose conflict clause the outer statement's overrides
    (an outer INSERT OR REPLACE / OR ABORT would replace or fail on an existing mark)."""
    return (
        f"INSERT INTO detect_dirty (target_id) SELECT {target} "
        f"WHERE NOT EXISTS (SELECT 1 FROM detect_dirty WHERE target_id = {target});"
    )


@migrations()
def m150_detect_facts(db: Database) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS detect_dirty (target_id INTEGER PRIMARY KEY)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS detect_facts (target_id INTEGER PRIMARY KEY, as_of TEXT NOT NULL, "
        "params TEXT NOT NULL, aggregates TEXT, gaps TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS detect_cache (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
        "value BLOB NOT NULL)"
    )
    db.execute(f"""
    CREATE TRIGGER IF NOT EXISTS posts_dirty_new AFTER INSERT ON posts WHEN {IDLE}
    BEGIN {mark("new.target_id")} END
    """)
    db.execute(f"""
    CREATE TRIGGER IF NOT EXISTS posts_dirty_edit AFTER UPDATE ON posts WHEN {IDLE}
    BEGIN {mark("old.target_id")} {mark("new.target_id")} END
    """)
    db.execute(f"""
    CREATE TRIGGER IF NOT EXISTS posts_dirty_gone AFTER DELETE ON posts
    BEGIN {mark("old.target_id")} END
    """)
