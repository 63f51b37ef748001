"""Writers for the portal tables: sites, columns, column_items, messages (upserts, never duplicates); the
messages a board's next crawl opens again."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlite_utils import Database

from core.enums import AnswerState
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


def load_unsettled_messages(
    db: Database, target_ids: Iterable[int], *, since: str
) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """(target, board URL) -> the messages asked since ``since`` that an earlier run left open or of
    unknown state: a board read only back to the rule's horizon opens their pages again, so an answer
    given later is seen even when they are no longer listed on the pages read."""
    ids = list(target_ids)
    marks = ", ".join("?" for _ in ids) or "NULL"
    out: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for row in db.query(
        "SELECT target_id, board_url, message_id, url, title, asked_at FROM messages "
        f"WHERE target_id IN ({marks}) AND url IS NOT NULL AND asked_at >= ? "
        f"AND coalesce(answer_state, '{AnswerState.UNKNOWN}') != '{AnswerState.ANSWERED}' ORDER BY asked_at",
        [*ids, since],
    ):
        out.setdefault((row["target_id"], row["board_url"]), []).append(row)
    return out


# Item class -> writer; pipelines/store.py merges this into its WRITERS.
WRITERS: dict[type, Callable[[Database, dict[str, Any]], int]] = {
    SiteItem: upsert_site,
    ColumnItem: upsert_column,
    ColumnEntryItem: upsert_column_item,
    MessageItem: upsert_message,
}
