"""Probe spider: one timed homepage fetch per portal, cheap enough for an hourly cron (availability)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from spiders.base import MonitorSpider
from spiders.portal import probe_failure, probe_request


class ProbeSpider(MonitorSpider):
    """`scrapy crawl probe`: a `checks` row kind='probe' per portal (status, latency, final URL, error)."""

    name = "probe"
    platforms: ClassVar[tuple[str, ...]] = ("portal",)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for target in self.load_targets():
            yield probe_request(self, target, self.parse, self.on_error)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        check = self.make_check(response, kind="probe", target_id=response.meta["target"]["id"])
        if response.status >= 400:
            check.error = f"HTTP {response.status}"
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"monitor/probe/{check.outcome}")
        yield check

    def on_error(self, failure: Failure) -> Iterator[Any]:
        yield probe_failure(self, failure)
