"""The only package that writes SQL: opening the database, upserts, and the writers items land in."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from core.config import resolve_db_path
from core.enums import DERIVED_STATUSES
from core.locks import held, lock_path
from db.sql import in_list

__all__ = ["database_file", "open_db", "resolve_db_path", "upsert"]

# accounts columns that name the account rather than describe its state: kept once seen.
IDENTITY_COLUMNS = ("gh_id", "wechat_id", "timeline_containerid")


# Many processes share the file (crawls, detection, the desk): a writer waits this long for the lock.
BUSY_TIMEOUT_MS = 60_000
CACHE_KIB = 65_536


def database_file(db: Database) -> Path | None:
    """The file behind the connection (None for an in-memory database)."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


def open_db(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the SQLite file, switch on WAL and foreign keys, apply migrations.

    WAL lets readers and one writer work at once; every write transaction is short (the store writes
    in batches, never across a download), and a writer that meets another waits up to BUSY_TIMEOUT_MS.
    Migrations and views are brought up to date under a file lock, so processes started together do
    not race to upgrade the schema.
    """
    from db.migrations import migrations
    from db.views import ensure_views, views_current

    memory = str(path) == ":memory:"
    path = Path(path)
    if not memory:
        path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000))
    if not memory:
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")  # safe in WAL: a crash loses no committed transaction
    db.execute("PRAGMA foreign_keys = ON")
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # A page cache of up to 64 MiB (SQLite's default is 2 MiB): detection's first pass over a year of
    # posts and the desk's facets rewrite and re-read far more than 2 MiB of pages.
    db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    if migrate and (migrations.pending(db) or not views_current(db)):
        if memory:
            migrations.apply(db)
            ensure_views(db)
        else:
            with held(lock_path(path, "schema"), timeout=BUSY_TIMEOUT_MS / 1000):
                migrations.apply(db)
                ensure_views(db)
    return db


def upsert(
    db: Database,
    table: str,
    row: Mapping[str, Any],
    *,
    key: Sequence[str],
    keep: Iterable[str] = (),
) -> int:
    """Insert ``row`` or update the row with the same natural ``key``; return its id.

    Columns named in ``keep`` are written on insert only (first_seen_at, created_at...).
    """
    cols = tuple(row)
    sql = _upsert_sql(table, cols, tuple(key), tuple(keep))
    return int(db.execute(sql, [row[c] for c in cols]).fetchone()[0])


@lru_cache(maxsize=256)
def _upsert_sql(table: str, cols: tuple[str, ...], key: tuple[str, ...], keep: tuple[str, ...]) -> str:
    keep_set = set(keep) | set(key)
    updates = ", ".join(f"[{c}] = excluded.[{c}]" for c in cols if c not in keep_set)
    conflict = ", ".join(f"[{c}]" for c in key)
    return (
        f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in cols)}) "
        f"VALUES ({', '.join('?' for _ in cols)}) "
        f"ON CONFLICT ({conflict}) DO "
        + (f"UPDATE SET {updates} " if updates else f"UPDATE SET [{key[0]}] = excluded.[{key[0]}] ")
        + "RETURNING id"
    )


def insert_row(db: Database, table: str, row: Mapping[str, Any]) -> int:
    """INSERT one row in the caller's transaction (sqlite-utils' insert() would commit it)."""
    cols = tuple(row)
    sql = (
        f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in cols)}) VALUES ({', '.join('?' for _ in cols)})"
    )
    return int(db.execute(sql, [row[c] for c in cols]).lastrowid or 0)


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)  # one, not one per call


def to_json(value: Any) -> str:
    return _ENCODER.encode(value)


# --- targets -------------------------------------------------------------------------------------


def upsert_target(db: Database, row: Mapping[str, Any], *, now: str) -> tuple[int, bool]:
    """Insert or update one target by (platform, key); return (id, created)."""
    existing = db.execute(
        "SELECT id FROM targets WHERE platform = ? AND key = ?", [row["platform"], row["key"]]
    ).fetchone()
    full = {**row, "updated_at": now, "created_at": now}
    target_id = upsert(db, "targets", full, key=("platform", "key"), keep=("created_at",))
    return target_id, existing is None


def load_targets(
    db: Database,
    *,
    platforms: Iterable[str] | None = None,
    ids: Iterable[int] | None = None,
    with_feed: bool = False,
    active_only: bool = True,
) -> list[dict[str, Any]]:
    """Targets as dicts with ``tags``/``options`` decoded, in id order."""
    where: list[str] = []
    params: list[Any] = []
    if active_only:
        where.append("active = 1")
    conds = []
    if platforms is not None:
        plats = list(platforms)
        conds.append(f"platform IN ({', '.join('?' for _ in plats)})")
        params.extend(plats)
    if with_feed:
        conds.append("feed_url IS NOT NULL AND feed_url != ''")
    if conds:
        where.append("(" + " OR ".join(conds) + ")")
    if ids is not None:
        id_list = list(ids)
        where.append(f"id IN ({', '.join('?' for _ in id_list)})")
        params.extend(id_list)
    sql = "SELECT * FROM targets" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id"
    rows = []
    for row in db.query(sql, params):
        row["tags"] = json.loads(row["tags"] or "[]")
        row["options"] = json.loads(row["options"] or "{}")
        rows.append(row)
    return rows


# --- item writers (one per item class; pipelines/store.py maps classes to these) ---------------


def upsert_post(db: Database, row: dict[str, Any]) -> int:
    row.setdefault("updated_at", row.get("first_seen_at"))
    return upsert(db, "posts", row, key=("target_id", "post_id"), keep=("first_seen_at",))


def record_account(db: Database, row: dict[str, Any]) -> int:
    """Append an account observation, or extend the latest one when nothing observable changed."""
    seen_at, run_id = row.pop("seen_at"), row.get("run_id")
    row.pop("run_id", None)
    cursor = db.execute(
        # closing/closed rows are detection's conclusions (db/detection.py), not observations to extend
        f"SELECT * FROM accounts WHERE target_id = ? AND status NOT IN {in_list(DERIVED_STATUSES)} "
        "ORDER BY last_seen_at DESC, id DESC LIMIT 1",
        [row["target_id"]],
    )
    latest = cursor.fetchone()
    if latest is not None:
        current = dict(zip([d[0] for d in cursor.description], latest, strict=True))
        for column in IDENTITY_COLUMNS:
            # An observation that does not show an identity (a Sogou result has no 原始ID) keeps it.
            if row.get(column) is None and current.get(column) is not None:
                row[column] = current[column]
        if all(current.get(k) == v for k, v in row.items()):
            db.execute(
                "UPDATE accounts SET last_seen_at = ?, last_run_id = ? WHERE id = ?",
                [seen_at, run_id, current["id"]],
            )
            return int(current["id"])
    full = {
        **row,
        "first_seen_at": seen_at,
        "last_seen_at": seen_at,
        "first_run_id": run_id,
        "last_run_id": run_id,
    }
    return insert_row(db, "accounts", full)


def table_counts(db: Database, tables: Iterable[str]) -> dict[str, int]:
    return {t: db[t].count for t in tables}
