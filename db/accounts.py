"""SQL for the account platforms: known posts, HTTP validators, account touches, per-run request costs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlite_utils import Database

from db import IDENTITY_COLUMNS, upsert


def _ids(ids: Iterable[int]) -> tuple[str, list[int]]:
    id_list = list(ids)
    return ", ".join("?" for _ in id_list) or "NULL", id_list


def load_known_posts(db: Database, target_ids: Iterable[int]) -> dict[int, set[str]]:
    """post_ids already stored per target: list paging stops at the first of them."""
    marks, params = _ids(target_ids)
    known: dict[int, set[str]] = {}
    for row in db.execute(f"SELECT target_id, post_id FROM posts WHERE target_id IN ({marks})", params):
        known.setdefault(int(row[0]), set()).add(str(row[1]))
    return known


def load_validators(db: Database, target_ids: Iterable[int]) -> dict[str, tuple[str | None, str | None]]:
    """url -> (etag, last_modified) for the targets' URLs."""
    marks, params = _ids(target_ids)
    return {
        row[0]: (row[1], row[2])
        for row in db.execute(
            f"SELECT url, etag, last_modified FROM http_validators WHERE target_id IN ({marks})", params
        )
    }


def load_validators_by_target(
    db: Database, target_ids: Iterable[int]
) -> dict[int, dict[str, tuple[str | None, str | None]]]:
    """target id -> {url: (etag, last_modified)}: what a distributed seed carries for its target."""
    marks, params = _ids(target_ids)
    by_target: dict[int, dict[str, tuple[str | None, str | None]]] = {}
    for row in db.execute(
        f"SELECT target_id, url, etag, last_modified FROM http_validators WHERE target_id IN ({marks})",
        params,
    ):
        if row[0] is not None:
            by_target.setdefault(int(row[0]), {})[row[1]] = (row[2], row[3])
    return by_target


def load_accounts_seen(db: Database, target_ids: Iterable[int]) -> set[int]:
    """Targets that already have an account row (their profile was read at least once)."""
    marks, params = _ids(target_ids)
    return {
        int(r[0])
        for r in db.execute(f"SELECT DISTINCT target_id FROM accounts WHERE target_id IN ({marks})", params)
    }


def load_account_ids(db: Database, target_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """The latest value of each identity column (gh_id, wechat_id, timeline_containerid) per target."""
    marks, params = _ids(target_ids)
    ids: dict[int, dict[str, str]] = {}
    for column in IDENTITY_COLUMNS:
        sql = (
            f"SELECT target_id, [{column}] FROM accounts WHERE target_id IN ({marks}) "
            f"AND [{column}] IS NOT NULL AND [{column}] != '' ORDER BY last_seen_at, id"
        )
        for target_id, value in db.execute(sql, params):
            ids.setdefault(int(target_id), {})[column] = str(value)
    return ids


def upsert_validator(db: Database, row: dict[str, Any]) -> int:
    row["updated_at"] = row.pop("seen_at")
    return upsert(db, "http_validators", row, key=("url",))


def touch_account(db: Database, row: dict[str, Any]) -> int:
    """A re-check saw no change: extend the latest account observation instead of adding one."""
    latest = db.execute(
        "SELECT id FROM accounts WHERE target_id = ? ORDER BY last_seen_at DESC, id DESC LIMIT 1",
        [row["target_id"]],
    ).fetchone()
    if latest is None:
        return 0
    db.execute(
        "UPDATE accounts SET last_seen_at = ?, last_run_id = ? WHERE id = ?",
        [row["seen_at"], row["run_id"], latest[0]],
    )
    return int(latest[0])


def record_run_targets(
    db: Database, run_id: int, spider: str, costs: Mapping[int, Mapping[str, int]]
) -> None:
    """Persist what each target cost in one run (requests, 304s, new posts, blocked answers)."""
    with db.conn:
        for target_id, cost in costs.items():
            row = {
                "run_id": run_id,
                "target_id": target_id,
                "spider": spider,
                "requests": cost.get("requests", 0),
                "not_modified": cost.get("not_modified", 0),
                "new_posts": cost.get("new_posts", 0),
                "blocked": cost.get("blocked", 0),
            }
            upsert(db, "run_targets", row, key=("run_id", "target_id"))
