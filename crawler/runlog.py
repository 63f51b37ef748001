"""A run you can read: Scrapy's own INFO chatter only at DEBUG, a progress line at a steady pace, and at
the end the alerts and a short summary of what the run found (the full stats stay in `runs`)."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from twisted.internet.task import LoopingCall

from alerts.service import send_alerts
from core.config import browser_problem, monitor_config
from core.items import BatchItem, CheckItem
from crawler.logs import quiet_chatty_loggers
from crawler.summary import format_summary
from db import open_db
from db.runs import report_runs

logger = logging.getLogger(__name__)


class RunLog:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = monitor_config(crawler)
        self.targets: set[int] = set()
        self.checks = 0
        self.planned: int | None = None
        self.started = time.monotonic()
        self.loop: LoopingCall | None = None
        quiet_chatty_loggers(str(crawler.settings.get("LOG_LEVEL", "INFO")))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunLog:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def spider_opened(self, spider: Any) -> None:
        assert self.crawler.stats is not None
        if self.crawler.stats.get_value("monitor/skipped"):
            return
        if hasattr(spider, "select_targets"):
            db = open_db(self.config.db_path)
            try:
                self.planned = len(spider.select_targets(db))
            finally:
                db.close()
            self.crawler.stats.set_value("monitor/targets_planned", self.planned)
        problem = browser_problem(self.config.chromium) if getattr(spider, "uses_browser", False) else None
        if problem:
            logger.warning(
                "%s: pages that need JavaScript will be recorded as no_browser (a crawler-side problem, "
                "not a finding). Install it: apt-get install chromium, or set MONITOR_CHROMIUM",
                problem,
            )
        if self.config.progress_s > 0:
            self.loop = LoopingCall(self.log_progress)
            self.loop.start(self.config.progress_s, now=False)

    def item_scraped(self, item: Any) -> None:
        for one in item.items if isinstance(item, BatchItem) else (item,):
            if isinstance(one, CheckItem):
                self.checks += 1
                if one.target_id is not None:
                    self.targets.add(one.target_id)

    def log_progress(self) -> None:
        assert self.crawler.stats is not None
        stats = self.crawler.stats
        spider = self.crawler.spider.name if self.crawler.spider else "?"
        total = "?" if self.planned is None else str(self.planned)
        logger.info(
            "%s: %d/%s targets, %d checks, %d items, %d errors, %.0f s",
            spider,
            len(self.targets),
            total,
            self.checks,
            stats.get_value("item_scraped_count", 0),
            stats.get_value("log_count/ERROR", 0),
            time.monotonic() - self.started,
        )

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
            self.log_progress()

    def engine_stopped(self) -> None:
        """After the store's close sequence and detection: send the alerts, print the summary."""
        assert self.crawler.stats is not None
        run_id = self.crawler.stats.get_value("monitor/run_id")
        if run_id is None or self.crawler.stats.get_value("monitor/skipped"):
            return
        alerts = None
        db = open_db(self.config.db_path)
        try:
            if self.config.notify_urls and self.config.notify_on_close:
                alerts = send_alerts(db, self.config.notify_urls, desk_url=self.config.desk_url).line()
            if self.config.summary:
                text = format_summary(
                    report_runs(db, [int(run_id)]), seconds=time.monotonic() - self.started, alerts=alerts
                )
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
        finally:
            db.close()
