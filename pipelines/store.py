"""Store items in SQLite in short batched transactions, and record each run (its stats, health) in `runs`."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from sqlite_utils import Database

import db as store
from core.clock import now_iso
from core.config import monitor_config
from core.items import BatchItem
from core.locks import Lock, lock_path
from db import runs
from detection.features import hash_window_start
from detection.rules.config import load_rules
from pipelines.health import run_health_suite
from pipelines.writer import WRITERS, Batch, BatchWriter, ProcessWriter, batch_entry

logger = logging.getLogger(__name__)


# Sent after the run row is finished and its health recorded: detection listens to this, not to
# spider_closed, so it always judges a run that is complete and whose trust is known.
run_finished = object()
# Sent (flush=bool) by whatever hands the pipeline items it must not lose — the distributed store's drain:
# the pipeline answers a ticket, a callable that is true once every item it had received when asked is
# committed (flush: written now instead of with the next batch).
stored_ticket = object()


class InlineWriter:
    """The writes in the crawl's own process (MONITOR_STORE_PROCESS=0), as ProcessWriter offers them."""

    def __init__(self, writer: BatchWriter) -> None:
        self.writer = writer
        self.sent = self.acked = 0

    def submit(self, batch: Batch) -> None:
        self.sent += 1
        self.writer.write(batch)
        self.acked = self.sent

    def finish(self) -> Counter[str]:
        return self.writer.counts


class StorePipeline:
    """Writes items in short batched transactions and owns the run row: started at open (under the
    spider's run lock), finished and assessed at close.

    Items are buffered in memory and written in one transaction when the buffer is full or has waited
    MONITOR_STORE_FLUSH_S seconds, by the writer process (pipelines/writer.py; MONITOR_STORE_PROCESS=0
    writes in the crawl's process): a write transaction never spans a download, so other crawls,
    `scrapy detect` and the desk keep working on the same file.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = monitor_config(crawler)
        self.db: Database | None = None
        self.run_id: int | None = None
        self.buffer: Batch = []
        self.flushed_at = time.monotonic()
        self.lock: Lock | None = None
        self.writer: ProcessWriter | InlineWriter | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.ticket, signal=stored_ticket)

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
        # the posts this run's detection compares for near-duplicates are hashed as they are written
        hash_from = hash_window_start(load_rules(self.config.rules_path), self.config.as_of)
        self.writer = (
            ProcessWriter(self.config.db_path, self.run_id, self.config.store_queue, hash_from)
            if self.config.store_process
            else InlineWriter(BatchWriter(self.db, self.run_id, hash_from))
        )

    def process_item(self, item: Any) -> Any:
        if self.db is None:
            return item
        seen_at = now_iso()
        for one in item.items if isinstance(item, BatchItem) else (item,):
            if type(one) in WRITERS:
                self.buffer.append(batch_entry(one, seen_at))
        if (
            len(self.buffer) >= self.config.store_batch
            or time.monotonic() - self.flushed_at >= self.config.store_flush_s
        ):
            self.flush()
        return item

    def flush(self) -> None:
        """Hand the buffered items to the writer: one short transaction for them."""
        if self.writer is None or not self.buffer:
            return
        batch, self.buffer = self.buffer, []
        self.flushed_at = time.monotonic()
        self.writer.submit(batch)

    def ticket(self, flush: bool = False) -> Callable[[], bool] | None:
        """True, once committed, for every item received so far (see ``stored_ticket``)."""
        writer = self.writer
        if writer is None:
            return None
        if flush:
            self.flush()
        batch = writer.sent + (1 if self.buffer else 0)  # what is buffered goes with the next batch
        return lambda: writer.acked >= batch

    def close_spider(self) -> None:
        self.flush()
        if self.writer is not None:
            assert self.crawler.stats is not None
            for key, n in self.writer.finish().items():
                self.crawler.stats.inc_value(key, n)
            self.writer = None

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
