"""Writers for the portal tables: sites, columns, column_items, messages (upserts, never duplicates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from core.items import ColumnEntryItem, ColumnItem, MessageItem, SiteItem
from db import upsert


def upsert_site(db: Database, row: dict[str, Any]) -> int:
    row.pop("seen_at", None)
    return upsert(db, "sites", row, key=("target_id",))


def upsert_column(db: Database, row: dict[str, Any]) -> int:
    row.pop("seen_at", None)
    return upsert(db, "columns", row, key=("target_id", "url"))


def upsert_column_item(db: Database, row: dict[str, Any]) -> int:
    """A column list row; its column is found by (target_id, column URL), written earlier in the run."""
    column_url = row.pop("column_url")
    found = db.execute(
        "SELECT id FROM columns WHERE target_id = ? AND url = ?", [row["target_id"], column_url]
    ).fetchone()
    if found is None:
        raise ValueError(f"column {column_url!r} of target {row['target_id']} is not stored yet")
    row["column_id"] = found[0]
    row["first_seen_at"] = row.pop("seen_at")
    return upsert(db, "column_items", row, key=("column_id", "url"), keep=("first_seen_at",))


def upsert_message(db: Database, row: dict[str, Any]) -> int:
    row["first_seen_at"] = row["last_seen_at"] = row.pop("seen_at")
    return upsert(db, "messages", row, key=("target_id", "message_id"), keep=("first_seen_at",))


# Item class -> writer; pipelines/store.py merges this into its WRITERS.
WRITERS: dict[type, Callable[[Database, dict[str, Any]], int]] = {
    SiteItem: upsert_site,
    ColumnItem: upsert_column,
    ColumnEntryItem: upsert_column_item,
    MessageItem: upsert_message,
}
