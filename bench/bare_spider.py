"""The ceiling: fetch exactly the URLs the real crawl fetches, parse nothing, store nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response


class BareSpider(scrapy.Spider):
    name = "bare"
    custom_settings: dict[str, Any] = {"ITEM_PIPELINES": {}}  # noqa: RUF012

    def __init__(self, urls_file: str = "", stats_file: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = Path(urls_file).read_text(encoding="utf-8").split()
        self.stats_file = stats_file

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            yield scrapy.Request(
                url, dont_filter=True, errback=self.ignore, meta={"handle_httpstatus_all": True}
            )

    def parse(self, response: Response, **kwargs: Any) -> None:
        return None

    def ignore(self, failure: Any) -> None:
        return None

    def closed(self, reason: str) -> None:
        if self.stats_file:
            stats = self.crawler.stats.get_stats()
            Path(self.stats_file).write_text(json.dumps(stats, default=str), encoding="utf-8")
