"""No credential leaves in a Referer: the last downloader middleware before the wire vets every one."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from core.redact import safe_referer
from crawler.middlewares import secret_values


class RefererGuardMiddleware:
    """Cuts each request's Referer down to what ``core.redact.safe_referer`` allows: the origin only for
    another origin, none from https to http, and the origin only when the referring URL carries a
    session parameter or a credential value (the MP list URL's token).

    Scrapy's RefererMiddleware follows REFERRER_POLICY, which a server can override with its own
    Referrer-Policy header (``unsafe-url`` sends the full URL anywhere); this guard runs after it, after
    the redirect middleware, and on requests rendered in Chromium. Off with MONITOR_REFERER_GUARD = False.
    """

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("MONITOR_REFERER_GUARD", True):
            raise NotConfigured
        self.crawler = crawler
        self.env_secrets = tuple(secret_values())

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RefererGuardMiddleware:
        return cls(crawler)

    def secrets(self) -> tuple[str, ...]:
        spider = self.crawler.spider
        own = tuple(spider.secrets()) if spider is not None and hasattr(spider, "secrets") else ()
        return (*self.env_secrets, *own)

    def process_request(self, request: Request) -> None:
        raw = request.headers.get("Referer")
        if not raw:
            return
        referer = raw.decode("latin-1")
        safe = safe_referer(referer, request.url, self.secrets())
        if safe is None:
            del request.headers["Referer"]
        elif safe != referer:
            request.headers["Referer"] = safe
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("monitor/referer_cut")
