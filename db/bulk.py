"""Batch writers: one statement per table for a batch of posts, checks or validators.

``write_posts`` splits a batch into new, edited and re-seen posts with one look-up, inserts and updates
each group with ``executemany``, then feeds the trigram index and the detection queue (post_features)
in bulk while the batch holds its ``bulk_writes`` row (m060): the per-row triggers stand aside.
A batch that breaks a constraint raises: the caller writes its rows one by one instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlite_utils import Database

from db.facts import mark_dirty

# (title, text, published_at) -> (judged, notice JSON, unsigned SimHash): detection's per-post features
# (detection/features.py), handed in by the writer so a new post is queued already judged and hashed.
Features = Callable[[Any, Any, Any], tuple[bool, str | None, int | None]]

# Columns whose change makes a post a new text to judge and to index.
CONTENT = ("title", "text", "published_at")
# Key lookups in chunks well under SQLite's bound-variable limit.
CHUNK = 400


@lru_cache(maxsize=64)
def _insert_sql(table: str, cols: tuple[str, ...], verb: str = "INSERT") -> str:
    names = ", ".join(f"[{c}]" for c in cols)
    return f"{verb} INTO [{table}] ({names}) VALUES ({', '.join('?' for _ in cols)})"


@lru_cache(maxsize=64)
def _update_sql(table: str, cols: tuple[str, ...]) -> str:
    return f"UPDATE [{table}] SET {', '.join(f'[{c}] = ?' for c in cols)} WHERE id = ?"


@lru_cache(maxsize=64)
def _upsert_sql(table: str, cols: tuple[str, ...], key: tuple[str, ...]) -> str:
    updates = ", ".join(f"[{c}] = excluded.[{c}]" for c in cols if c not in key)
    return (
        _insert_sql(table, cols)
        + f" ON CONFLICT ({', '.join(f'[{c}]' for c in key)}) DO UPDATE SET {updates}"
    )


def _existing_posts(db: Database, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], tuple[Any, ...]]:
    """(target_id, post_id) -> (id, title, text, published_at) for the keys already stored."""
    by_target: dict[int, list[str]] = {}
    for tid, pid in keys:
        by_target.setdefault(tid, []).append(pid)
    found: dict[tuple[int, str], tuple[Any, ...]] = {}
    for tid, pids in by_target.items():
        for start in range(0, len(pids), CHUNK):
            chunk = pids[start : start + CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for row in db.execute(
                "SELECT target_id, post_id, id, title, text, published_at FROM posts "
                f"WHERE target_id = ? AND post_id IN ({marks})",
                [tid, *chunk],
            ):
                found[(int(row[0]), str(row[1]))] = row[2:]
    return found


def write_posts(
    db: Database, rows: Sequence[dict[str, Any]], *, owner: str, features: Features | None = None
) -> int:
    """Insert or update a batch of post rows (first_seen_at kept on update); return how many were new.

    Runs inside the caller's transaction. ``owner`` names the writer in ``bulk_writes`` for the
    duration of the call. With ``features``, new posts enter the detection queue judged and hashed.
    """
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["target_id"], row["post_id"])
        if key in latest:  # the same post twice in one batch: the later copy wins, first_seen_at stays
            row = {**row, "first_seen_at": latest[key]["first_seen_at"]}
        latest[key] = row
    if not latest:
        return 0
    conn = db.conn
    conn.execute("INSERT INTO bulk_writes (owner) VALUES (?)", [owner])
    try:
        existing = _existing_posts(db, list(latest))
        new = [r for k, r in latest.items() if k not in existing]
        edited: list[tuple[int, dict[str, Any], tuple[Any, ...]]] = []
        seen: list[tuple[int, dict[str, Any]]] = []
        for key, row in latest.items():
            if key in existing:
                old = existing[key]
                if tuple(row.get(c) for c in CONTENT) != tuple(old[1:]):
                    edited.append((int(old[0]), row, old))
                else:
                    seen.append((int(old[0]), row))
        first_new = int(conn.execute("SELECT coalesce(max(id), 0) FROM posts").fetchone()[0])
        if new:
            cols = tuple(new[0])
            conn.executemany(_insert_sql("posts", cols), [[r[c] for c in cols] for r in new])
            # Under BEGIN IMMEDIATE no one else inserts: this batch's posts are the ids above first_new.
            conn.execute(
                "INSERT INTO posts_fts (rowid, title, text) SELECT id, title, text FROM posts WHERE id > ?",
                [first_new],
            )
            _queue_new(db, new, first_new, features)
        for group in (edited, seen):
            if not group:
                continue
            cols = tuple(c for c in group[0][1] if c not in ("first_seen_at", "target_id", "post_id"))
            conn.executemany(
                _update_sql("posts", cols), [[r[c] for c in cols] + [pid] for pid, r, *_ in group]
            )
        if edited:
            conn.executemany(
                "INSERT INTO posts_fts (posts_fts, rowid, title, text) VALUES ('delete', ?, ?, ?)",
                [(pid, old[1], old[2]) for pid, _, old in edited],
            )
            conn.executemany(
                "INSERT INTO posts_fts (rowid, title, text) VALUES (?, ?, ?)",
                [(pid, r.get("title"), r.get("text")) for pid, r, _ in edited],
            )
            conn.executemany(
                "UPDATE post_features SET notice_checked = 0, notice = NULL, simhash = NULL, "
                "published_at = ? WHERE post_rowid = ?",
                [(r.get("published_at"), pid) for pid, r, _ in edited],
            )
        # The triggers' mark for detection's kept facts (m150), once per target of the batch.
        mark_dirty(db, (tid for tid, _ in latest))
    finally:
        conn.execute("DELETE FROM bulk_writes WHERE owner = ?", [owner])
    return len(new)


def _queue_new(
    db: Database, new: Sequence[dict[str, Any]], first_new: int, features: Features | None
) -> None:
    """The detection queue's rows for the posts just inserted (ids above ``first_new``)."""
    conn = db.conn
    if features is not None:
        ids = [r[0] for r in conn.execute("SELECT id FROM posts WHERE id > ? ORDER BY id", [first_new])]
        if len(ids) == len(new):  # inserted in order under the caller's write lock
            rows = []
            for pid, row in zip(ids, new, strict=True):
                judged, notice, hashed = features(row.get("title"), row.get("text"), row.get("published_at"))
                rows.append(
                    (
                        pid,
                        row["target_id"],
                        row.get("published_at"),
                        int(judged),
                        notice,
                        None if hashed is None else signed(hashed),
                    )
                )
            conn.executemany(
                "INSERT OR IGNORE INTO post_features (post_rowid, target_id, published_at, notice_checked, "
                "notice, simhash) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            return
    conn.execute(
        "INSERT OR IGNORE INTO post_features (post_rowid, target_id, published_at, notice_checked) "
        "SELECT id, target_id, published_at, 0 FROM posts WHERE id > ?",
        [first_new],
    )


def signed(h: int) -> int:
    """An unsigned 64-bit SimHash as SQLite's signed INTEGER stores it."""
    return h - (1 << 64) if h >= 1 << 63 else h


# A check a distributed worker relayed carries its relay key (m160): drained twice, it is kept once. Any
# other constraint a check breaks still fails its batch.
CHECK_ONCE = " ON CONFLICT (relay_key) WHERE relay_key IS NOT NULL DO NOTHING"


def insert_checks(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT checks of one shape in one statement, each relayed check once (the caller's transaction)."""
    if not rows:
        return
    cols = tuple(rows[0])
    db.conn.executemany(_insert_sql("checks", cols) + CHECK_ONCE, [[r.get(c) for c in cols] for r in rows])


def upsert_rows(db: Database, table: str, rows: Sequence[dict[str, Any]], *, key: Sequence[str]) -> None:
    """Insert or update rows of one shape by their natural key in one statement."""
    if not rows:
        return
    cols = tuple(rows[0])
    db.conn.executemany(_upsert_sql(table, cols, tuple(key)), [[r.get(c) for c in cols] for r in rows])
