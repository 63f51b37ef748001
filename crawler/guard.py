"""A callback that raises loses what it had not yet yielded, never the check of the answer it read."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Response

from core.enums import CheckOutcome
from spiders.base import MonitorSpider

logger = logging.getLogger(__name__)


class ParseGuardMiddleware:
    """Spider middleware: an exception out of a callback is logged (with its traceback) and counted as
    ``monitor/parse_error``; when the callback had not yet recorded the answer's check, the answer gets a
    ``malformed`` one, so a page that breaks a parser is "could not read", never "not fetched"."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ParseGuardMiddleware:
        return cls(crawler)

    def process_spider_exception(self, response: Response, exception: Exception) -> Iterable[Any] | None:
        spider = self.crawler.spider
        if not isinstance(spider, MonitorSpider):
            return None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("monitor/parse_error")
        error = spider.mask(f"{type(exception).__name__}: {exception}"[:500])
        # The traceback goes through the spider's mask too: an exception can quote a URL with a token.
        trace = spider.mask("".join(traceback.format_exception(exception))[-4000:])
        logger.error("parse error on %s: %s\n%s", spider.scrub_url(response.url), error, trace)
        if response.meta.get("checked"):
            return []
        return [
            spider.check(
                response, outcome=CheckOutcome.MALFORMED, error=f"not in the shape expected: {error}"
            )
        ]
