"""Store items in SQLite (batched commits), and record each run with its stats in `runs`."""

from __future__ import annotations

import logging
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
from core.clock import now_iso
from core.config import monitor_config
from core.enums import CheckOutcome
from core.items import AccountItem, AccountSeenItem, CheckItem, PostItem, ValidatorItem
from db import accounts as accounts_db
from db import portal as portal_store
from db import runs
from detection.health import assess_run

logger = logging.getLogger(__name__)


def _post(database: Database, row: dict[str, Any]) -> int:
    row["first_seen_at"] = row["updated_at"] = row.pop("seen_at")
    return store.upsert_post(database, row)


def _check(database: Database, row: dict[str, Any]) -> int:
    row.pop("seen_at")
    row["ok"] = int(CheckOutcome(row["outcome"]).is_ok)
    return store.insert_check(database, row)


WRITERS: dict[type, Callable[[Database, dict[str, Any]], int]] = {
    PostItem: _post,
    CheckItem: _check,
    AccountItem: store.record_account,
    **portal_store.WRITERS,
    ValidatorItem: accounts_db.upsert_validator,
    AccountSeenItem: accounts_db.touch_account,
}


@lru_cache(maxsize=64)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


# Sent after the run row is finished and its health recorded: detection listens to this, not to
# spider_closed, so it always judges a run that is complete and whose trust is known.
run_finished = object()


class StorePipeline:
    """Writes items in batches and owns the run row: started at open, finished and assessed at close."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = monitor_config(crawler)
        self.db: Database | None = None
        self.run_id: int | None = None
        self.pending = 0
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.db = store.open_db(self.config.db_path)
        spider = self.crawler.spider
        self.run_id = runs.start_run(
            self.db,
            spider=spider.name if spider else "?",
            started_at=now_iso(),
            as_of=self.config.as_of_iso,
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
        if self.pending >= self.config.store_batch:
            self.commit()
        return item

    def commit(self) -> None:
        if self.db is not None and self.run_id is not None:
            runs.heartbeat(self.db, self.run_id)
            self.db.conn.commit()
            self.pending = 0

    def close_spider(self) -> None:
        self.commit()

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.db is None or self.run_id is None:
            return
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()
        runs.finish_run(self.db, self.run_id, finished_at=now_iso(), reason=reason, stats=stats)
        problems = assess_run(
            runs.run_summary(self.db, self.run_id),
            offline_share=self.config.offline_share,
            offline_min_targets=self.config.offline_min_targets,
        )
        runs.record_problems(self.db, self.run_id, problems)
        trusted = runs.set_trust(self.db, self.run_id)
        self.db.conn.commit()
        self.db.close()
        self.db = None
        for p in problems:
            logger.warning("run %s: crawler-side problem %s: %s", self.run_id, p.problem, p.detail)
        self.crawler.stats.set_value("monitor/run_trusted", int(trusted))
        self.crawler.signals.send_catch_log(run_finished, run_id=self.run_id, trusted=trusted)
