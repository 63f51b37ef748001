"""Store items in SQLite (batched commits), and record each run with its stats in `runs`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import fields
from functools import lru_cache
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlite_utils import Database

import db as store
from core.clock import now_iso, parse_as_of
from core.config import monitor_config
from core.items import AccountItem, AccountSeenItem, CheckItem, PostItem, ValidatorItem
from db import accounts as accounts_db
from db import portal as portal_store


def _post(database: Database, row: dict[str, Any]) -> int:
    row["first_seen_at"] = row["updated_at"] = row.pop("seen_at")
    return store.upsert_post(database, row)


def _check(database: Database, row: dict[str, Any]) -> int:
    row.pop("seen_at")
    row["ok"] = int(row["outcome"] in ("ok", "not_modified"))
    return store.insert_check(database, row)


WRITERS: dict[type, Callable[[Database, dict[str, Any]], int]] = {
    PostItem: _post,
    CheckItem: _check,
    AccountItem: store.record_account,
    # portal writers (issue 3)
    **portal_store.WRITERS,
    # account platform writers (issue 4)
    ValidatorItem: accounts_db.upsert_validator,
    AccountSeenItem: accounts_db.touch_account,
    # detection writers (issue 5)
}


@lru_cache(maxsize=64)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db_path = monitor_config(crawler).db_path
        self.batch = crawler.settings.getint("MONITOR_STORE_BATCH", 500)
        self.as_of = parse_as_of(crawler.settings.get("MONITOR_AS_OF")).isoformat()
        self.db: Database | None = None
        self.run_id: int | None = None
        self.pending = 0
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.db = store.open_db(self.db_path)
        spider = self.crawler.spider
        self.run_id = store.start_run(
            self.db, spider=spider.name if spider else "?", started_at=now_iso(), as_of=self.as_of
        )
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("monitor/run_id", self.run_id)

    def process_item(self, item: Any) -> Any:
        writer = WRITERS.get(type(item))
        if writer is None or self.db is None:
            return item
        row = {name: getattr(item, name) for name in _field_names(type(item))}  # type: ignore[arg-type]
        row["run_id"], row["seen_at"] = self.run_id, now_iso()
        try:
            writer(self.db, row)
        except sqlite3.IntegrityError as exc:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("monitor/dropped/integrity_error")
            raise DropItem(f"integrity_error: {exc}") from exc
        self.pending += 1
        if self.pending >= self.batch:
            self.db.conn.commit()
            self.pending = 0
        return item

    def close_spider(self) -> None:
        if self.db is not None:
            self.db.conn.commit()

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.db is None or self.run_id is None:
            return
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()
        store.finish_run(self.db, self.run_id, finished_at=now_iso(), reason=reason, stats=stats)
        self.db.conn.commit()
        self.db.close()
        self.db = None
