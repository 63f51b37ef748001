"""SQL of detection's kept facts (m150): what detection/post_facts.py reuses between runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from sqlite_utils import Database

CHUNK = 10_000


def _chunks(ids: Sequence[int]) -> Iterator[tuple[list[int], str]]:
    """The ids a statement's IN list at a time, with their placeholders."""
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        yield chunk, ", ".join("?" for _ in chunk)


def mark_dirty(db: Database, target_ids: Iterable[int]) -> None:
    """The targets' posts changed: detection must read them again (the bulk writer's mark)."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO detect_dirty (target_id) VALUES (?)", [(t,) for t in set(target_ids)]
    )


def forget_dirty(db: Database, target_ids: Sequence[int] | None) -> int:
    """Drop the kept facts of every marked target (of ``target_ids``, or all) and their marks, in one
    transaction. Return how many targets were marked."""
    with db.conn:
        if target_ids is None:
            db.conn.execute(
                "DELETE FROM detect_facts WHERE target_id IN (SELECT target_id FROM detect_dirty)"
            )
            return db.conn.execute("DELETE FROM detect_dirty").rowcount
        marked = 0
        for ids, marks in _chunks(target_ids):
            db.conn.execute(
                f"DELETE FROM detect_facts WHERE target_id IN (SELECT target_id FROM detect_dirty "
                f"WHERE target_id IN ({marks}))",
                ids,
            )
            marked += db.conn.execute(f"DELETE FROM detect_dirty WHERE target_id IN ({marks})", ids).rowcount
        return marked


def kept_facts(db: Database, target_ids: Sequence[int] | None) -> dict[int, tuple[str, str, str | None, str]]:
    """target_id -> (as_of, params, aggregates JSON, gaps JSON) as the last run that read them kept them."""
    sql = "SELECT target_id, as_of, params, aggregates, gaps FROM detect_facts"
    if target_ids is None:
        return {r[0]: r[1:] for r in db.conn.execute(sql)}
    out = {}
    for ids, marks in _chunks(target_ids):
        out.update({r[0]: r[1:] for r in db.conn.execute(f"{sql} WHERE target_id IN ({marks})", ids)})
    return out


def keep_facts(db: Database, rows: Iterable[tuple[int, str, str, str | None, str]]) -> None:
    """(target_id, as_of, params, aggregates JSON, gaps JSON) rows, replacing what was kept."""
    with db.conn:
        db.conn.executemany(
            "INSERT OR REPLACE INTO detect_facts (target_id, as_of, params, aggregates, gaps) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )


def targets_with_posts_between(db: Database, spans: Iterable[tuple[str, str, bool]]) -> set[int]:
    """Targets with a post published within any span (low, high, upper): ``low <= published_at < high``
    for a window's lower edge (a post at the new edge is in both windows), ``low < published_at <= high``
    for the check time itself (upper, a post at the old check time is in both). Pinned or not."""
    out: set[int] = set()
    for low, high, upper in spans:
        cond = "published_at > ? AND published_at <= ?" if upper else "published_at >= ? AND published_at < ?"
        out.update(
            r[0] for r in db.conn.execute(f"SELECT DISTINCT target_id FROM posts WHERE {cond}", [low, high])
        )
    return out


def cached(db: Database, key: str, fingerprint: str) -> bytes | None:
    """The value kept under ``key`` if it was computed from what ``fingerprint`` names."""
    row = db.conn.execute(
        "SELECT value FROM detect_cache WHERE key = ? AND fingerprint = ?", [key, fingerprint]
    ).fetchone()
    return bytes(row[0]) if row else None


def cache(db: Database, key: str, fingerprint: str, value: bytes) -> None:
    with db.conn:
        db.conn.execute(
            "INSERT OR REPLACE INTO detect_cache (key, fingerprint, value) VALUES (?, ?, ?)",
            [key, fingerprint, value],
        )


@contextmanager
def snapshot(db: Database) -> Iterator[None]:
    """Reads that see one state of the database (one read transaction), unless one is open already."""
    if db.conn.in_transaction:
        yield
        return
    db.conn.execute("BEGIN")
    try:
        yield
    finally:
        db.conn.commit()
