"""Run detection for the targets a crawl touched, when the spider closes (MONITOR_DETECT_ON_CLOSE)."""

from __future__ import annotations

from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

import db as store
from core.clock import parse_as_of
from core.config import monitor_config
from detection.rules.config import load_rules
from detection.service import detect


class DetectPipeline:
    """Run detection for the crawled targets when the spider closes (MONITOR_DETECT_ON_CLOSE)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db_path = monitor_config(crawler).db_path
        self.as_of = crawler.settings.get("MONITOR_AS_OF")
        self.rules_path = crawler.settings.get("MONITOR_RULES") or None
        self.profile = crawler.settings.get("MONITOR_PROFILE") or None
        self.targets: set[int] = set()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DetectPipeline:
        if not crawler.settings.getbool("MONITOR_DETECT_ON_CLOSE"):
            raise NotConfigured("MONITOR_DETECT_ON_CLOSE is off")
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        tid = getattr(item, "target_id", None)
        if tid is not None:
            self.targets.add(int(tid))
        return item

    def spider_closed(self, spider: Any, reason: str) -> None:
        if not self.targets:
            return
        database = store.open_db(self.db_path)
        try:
            summary = detect(
                database,
                as_of=parse_as_of(self.as_of),
                rules=load_rules(self.rules_path),
                profile=self.profile,
                target_ids=sorted(self.targets),
                run_id=self.crawler.stats.get_value("monitor/run_id") if self.crawler.stats else None,
            )
        finally:
            database.close()
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("monitor/detect/findings", summary.findings)
        self.crawler.stats.set_value("monitor/detect/run_id", summary.run_id)
