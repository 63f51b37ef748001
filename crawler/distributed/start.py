"""What a spider's start() becomes in each role: the store seeds and drains, a worker starts nothing.

The store reads the targets and their incremental state from the database (the spider's own
``load_targets``) and turns each into a seed (``seed_request``: plain data only). A worker has no
database: everything it crawls comes from the seeds in the shared queue.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider

from crawler.distributed.config import Role, distributed_config, unreachable_message
from crawler.distributed.crawl import REDIS_UNREACHABLE, run_store

logger = logging.getLogger(__name__)


class DistributedStartMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.role = distributed_config(crawler).role

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedStartMiddleware:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        spider: Any = self.crawler.spider
        assert spider is not None
        if self.role is not Role.STORE:
            return
        stats = self.crawler.stats
        if stats is not None and stats.get_value("monitor/skipped"):
            return  # the store's run lock: the same spider is already being stored into this database
        # Started by Scrapyd (`scrapy crawl` with MONITOR_ROLE) there was no `scrapy store` to look first.
        problem = unreachable_message(distributed_config(self.crawler).redis_url)
        if problem is not None:
            logger.error(problem)
            raise CloseSpider(REDIS_UNREACHABLE)
        seeds = [spider.seed_request(target) for target in spider.load_targets()]
        async for item in run_store(spider, seeds):
            yield item
