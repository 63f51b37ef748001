"""What one answer may cost: a byte cap per kind of fetch, and link checks that stop at the headers."""

from __future__ import annotations

from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured, StopDownload

from core.enums import CheckKind

MIB = 1024 * 1024
# Bytes read at most per answer, by what it is for: a homepage, a feed or an API answer is small next
# to a column page that lists hundreds of rows. Settings: MONITOR_MAXSIZE (merged over these).
DEFAULT_CAPS: dict[str, int] = {
    CheckKind.CANARY: 1 * MIB,
    CheckKind.PROBE: 4 * MIB,
    CheckKind.FEED: 4 * MIB,
    CheckKind.API: 4 * MIB,
    CheckKind.LISTING: 4 * MIB,
    CheckKind.ARTICLE: 8 * MIB,
    CheckKind.PAGE: 8 * MIB,
    CheckKind.COLUMN: 16 * MIB,
    CheckKind.LINK: 1 * MIB,
}


class SizeCapMiddleware:
    """Sets each request's ``download_maxsize`` (and a warning at a quarter of it) by its ``meta["kind"]``;
    a request that names its own keeps it. Scrapy cancels a larger answer — by its Content-Length, as
    it arrives, or while HttpCompressionMiddleware inflates it (a gzip bomb) — and the request's errback
    records an ``oversized`` check. A link check by GET stops once the headers are in: its status is all
    it needs. Off with MONITOR_MAXSIZE_ENABLED = False."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("MONITOR_MAXSIZE_ENABLED", True):
            raise NotConfigured
        self.caps = {
            **DEFAULT_CAPS,
            **{str(k): int(v) for k, v in settings.getdict("MONITOR_MAXSIZE").items()},
        }
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SizeCapMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        cap = self.caps.get(str(request.meta.get("kind") or ""))
        if cap:
            request.meta.setdefault("download_maxsize", cap)
            request.meta.setdefault("download_warnsize", cap // 4)

    def headers_received(self, headers: Any, body_length: int, request: Request, spider: Any) -> None:
        if request.meta.get("kind") == CheckKind.LINK and request.method == "GET":
            raise StopDownload(fail=False)
