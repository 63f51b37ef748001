"""Run detection for the targets a crawl touched, once its run is finished (MONITOR_DETECT_ON_CLOSE)."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

import db as store
from core.config import monitor_config
from detection.rules.config import load_rules
from detection.service import detect
from evidence.capture import capture_evidence
from pipelines.store import run_finished


class DetectPipeline:
    """Collects the ids of the targets items were stored for; judges them when the run is finished."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = monitor_config(crawler)
        self.targets: set[int] = set()
        crawler.signals.connect(self.judge, signal=run_finished)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DetectPipeline:
        if not monitor_config(crawler).detect_on_close:
            raise NotConfigured("MONITOR_DETECT_ON_CLOSE is off")
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        tid = getattr(item, "target_id", None)
        if tid is not None:
            self.targets.add(int(tid))
        return item

    def judge(self, run_id: int, trusted: bool) -> None:
        if not self.targets:
            return
        database = store.open_db(self.config.db_path)
        try:
            summary = detect(
                database,
                as_of=self.config.as_of,
                rules=load_rules(self.config.rules_path),
                profile=self.config.profile,
                target_ids=sorted(self.targets),
                run_id=run_id,
            )
            capture_evidence(database, self.config, run_id=summary.run_id, limit=self.config.evidence.per_run)
        finally:
            database.close()
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("monitor/detect/findings", summary.findings)
        self.crawler.stats.set_value("monitor/detect/errors", summary.errors)
        self.crawler.stats.set_value("monitor/detect/run_id", summary.run_id)
