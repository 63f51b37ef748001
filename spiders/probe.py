"""Probe spider: one timed homepage fetch per portal, cheap enough for an hourly cron (availability)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from scrapy.http import Response
from twisted.python.failure import Failure

from core.enums import CheckKind
from spiders.base import MonitorSpider
from spiders.portal import probe_failure, probe_request
from spiders.portal.homepage import read_homepage


class ProbeSpider(MonitorSpider):
    """`scrapy crawl probe`: a `checks` row kind='probe' per portal (status, latency, final URL, error)."""

    name = "probe"
    platforms: ClassVar[tuple[str, ...]] = ("portal",)
    start_kind = CheckKind.PROBE

    def start_target(self, target: dict[str, Any]) -> Iterator[Any]:
        yield probe_request(self, target, self.parse, self.on_error)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        # The same reading as the portal spider's: a wall, an empty or a non-HTML answer is no open site.
        home = read_homepage(response) if response.status < 400 else None
        check = self.check(response, kind=CheckKind.PROBE, outcome=home.outcome if home else None)
        if home is not None and home.outcome is not None:
            check.error = self.mask(home.reason)
        if response.status >= 400:
            check.error = f"HTTP {response.status}"
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"monitor/probe/{check.outcome}")
        yield check

    def on_error(self, failure: Failure) -> Iterator[Any]:
        yield probe_failure(self, failure)
