"""Store items in SQLite in short batched transactions, and record each run (its stats, health) in `runs`."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from sqlite_utils import Database

import db as store
from core.clock import now_iso
from core.config import monitor_config
from core.enums import CheckOutcome
from core.items import AccountItem, AccountSeenItem, CheckItem, PostBatchItem, PostItem, ValidatorItem
from core.locks import Lock, lock_path
from db import accounts as accounts_db
from db import bulk, runs
from db import portal as portal_store
from pipelines.health import run_health_suite

logger = logging.getLogger(__name__)


def _post_row(row: dict[str, Any]) -> dict[str, Any]:
    row["first_seen_at"] = row["updated_at"] = row.pop("seen_at")
    return row


def _check_row(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("seen_at")
    row["ok"] = int(CheckOutcome(row["outcome"]).is_ok)
    return row


def _validator_row(row: dict[str, Any]) -> dict[str, Any]:
    row["updated_at"] = row.pop("seen_at")
    return row


def _post(database: Database, row: dict[str, Any]) -> int:
    return store.upsert_post(database, _post_row(row))


def _check(database: Database, row: dict[str, Any]) -> int:
    return store.insert_check(database, _check_row(row))


Writer = Callable[[Database, dict[str, Any]], int]
BulkWriter = Callable[[Database, list[dict[str, Any]], str], object]

# One item at a time, each in its own savepoint: rows that depend on rows written before them.
WRITERS: dict[type, Writer] = {
    PostItem: _post,
    CheckItem: _check,
    AccountItem: store.record_account,
    **portal_store.WRITERS,
    ValidatorItem: accounts_db.upsert_validator,
    AccountSeenItem: accounts_db.touch_account,
}

# Independent rows: one statement per table and batch, after the per-item rows of the batch. A batch
# that breaks a constraint is rolled back and written item by item, so only the bad row is lost.
BULK_WRITERS: dict[type, BulkWriter] = {
    PostItem: lambda d, rows, owner: bulk.write_posts(d, [_post_row(r) for r in rows], owner=owner),
    CheckItem: lambda d, rows, owner: bulk.insert_rows(d, "checks", [_check_row(r) for r in rows]),
    ValidatorItem: lambda d, rows, owner: bulk.upsert_rows(
        d, "http_validators", [_validator_row(r) for r in rows], key=("url",)
    ),
}


# Sent after the run row is finished and its health recorded: detection listens to this, not to
# spider_closed, so it always judges a run that is complete and whose trust is known.
run_finished = object()


class StorePipeline:
    """Writes items in short batched transactions and owns the run row: started at open (under the
    spider's run lock), finished and assessed at close.

    Items are buffered in memory and written in one transaction when the buffer is full or has waited
    MONITOR_STORE_FLUSH_S seconds: a write transaction never spans a download, so other crawls,
    `scrapy detect` and the desk keep working on the same file.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = monitor_config(crawler)
        self.db: Database | None = None
        self.run_id: int | None = None
        self.buffer: list[tuple[type, dict[str, Any]]] = []
        self.flushed_at = time.monotonic()
        self.lock: Lock | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        name = spider.name if spider else "?"
        assert self.crawler.stats is not None
        lock = Lock(lock_path(self.config.db_path, f"crawl-{name}"))
        wait = self.config.run_lock_wait_s
        if not lock.acquire(timeout=wait):
            logger.warning(
                "another `scrapy crawl %s` (pid %s) is running on %s; %s",
                name,
                lock.holder(),
                self.config.db_path,
                f"waited {wait:.0f} s, skipping this run" if wait else "skipping this run",
            )
            self.crawler.stats.set_value("monitor/skipped", "already running")
            return
        self.lock = lock
        self.db = store.open_db(self.config.db_path)
        self.run_id = runs.start_run(self.db, spider=name, started_at=now_iso(), as_of=self.config.as_of_iso)
        self.crawler.stats.set_value("monitor/run_id", self.run_id)

    def process_item(self, item: Any) -> Any:
        if self.db is None:
            return item
        seen_at = now_iso()
        for one in item.posts if isinstance(item, PostBatchItem) else (item,):
            if type(one) not in WRITERS:
                continue
            row = dict(vars(one))  # the dataclass's fields (items carry nothing else)
            row["run_id"], row["seen_at"] = self.run_id, seen_at
            self.buffer.append((type(one), row))
        if (
            len(self.buffer) >= self.config.store_batch
            or time.monotonic() - self.flushed_at >= self.config.store_flush_s
        ):
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffered items in one short transaction (retried if the file stays locked)."""
        if self.db is None or self.run_id is None:
            return
        batch, self.buffer = self.buffer, []
        self.flushed_at = time.monotonic()
        for attempt in range(5):
            try:
                self._write(batch)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                logger.warning("database busy (%s); retrying the write (%d)", exc, attempt + 1)
                time.sleep(0.5 * 2**attempt)
        self._write(batch)

    def _write(self, batch: list[tuple[type, dict[str, Any]]]) -> None:
        assert self.db is not None
        conn = self.db.conn
        singles: list[tuple[Writer, dict[str, Any]]] = []
        grouped: dict[type, list[dict[str, Any]]] = {}
        for cls, row in batch:
            if cls in BULK_WRITERS:
                grouped.setdefault(cls, []).append(row)
            else:
                singles.append((WRITERS[cls], row))
        conn.execute("BEGIN IMMEDIATE")
        try:
            for writer, row in singles:
                self._write_one(writer, row)
            for cls, rows in grouped.items():
                conn.execute("SAVEPOINT bulk")
                try:
                    BULK_WRITERS[cls](self.db, [dict(r) for r in rows], f"store-{os.getpid()}")
                except (sqlite3.IntegrityError, ValueError):
                    conn.execute("ROLLBACK TO bulk")
                    conn.execute("RELEASE bulk")
                    for row in rows:
                        self._write_one(WRITERS[cls], row)
                else:
                    conn.execute("RELEASE bulk")
            runs.heartbeat(self.db, self.run_id)  # type: ignore[arg-type]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _write_one(self, writer: Writer, row: dict[str, Any]) -> None:
        assert self.db is not None
        assert self.crawler.stats is not None
        conn = self.db.conn
        conn.execute("SAVEPOINT item")
        try:
            writer(self.db, dict(row))
        except (sqlite3.IntegrityError, ValueError) as exc:
            # one row that cannot be stored (a constraint, a column not stored): that row only
            conn.execute("ROLLBACK TO item")
            self.crawler.stats.inc_value("monitor/dropped/integrity_error")
            logger.warning("item not stored (%s): %s", exc, row.get("url"))
        conn.execute("RELEASE item")

    def close_spider(self) -> None:
        self.flush()

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.db is None or self.run_id is None:
            return
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()
        # The close sequence: finish the run row, run the health monitors (Spidermon) over what it
        # stored, record their answers and problems, decide trust; only then send run_finished.
        with self.db.conn:
            finished_at = now_iso()
            runs.finish_run(self.db, self.run_id, finished_at=finished_at, reason=reason, stats=stats)
            summary = runs.run_summary(
                self.db, self.run_id, stats=stats, planned=stats.get("monitor/targets_planned")
            )
            health = run_health_suite(summary, self.config.health_limits)
            runs.record_monitor_results(self.db, self.run_id, health.results, at=finished_at)
            problems = health.problems
            runs.record_problems(self.db, self.run_id, problems)
            trusted = runs.set_trust(self.db, self.run_id)
        self.db.close()
        self.db = None
        for p in problems:
            logger.warning("run %s: crawler-side problem %s: %s", self.run_id, p.problem, p.detail)
        self.crawler.stats.set_value("monitor/health_passed", int(health.passed))
        self.crawler.stats.set_value("monitor/run_trusted", int(trusted))
        self.crawler.signals.send_catch_log(run_finished, run_id=self.run_id, trusted=trusted)
        if self.lock is not None:
            self.lock.release()
