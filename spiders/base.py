"""The base every platform spider shares: targets from the database, and fetches recorded as checks."""

from __future__ import annotations

from typing import Any, ClassVar

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.clock import now_iso
from crawler.items import CheckItem, CheckOutcome
from crawler.outcomes import outcome_for_failure, outcome_for_status
from db import load_targets, open_db, resolve_db_path

# Let error statuses reach the callback (they are findings), while redirects are still followed.
ERROR_STATUSES = list(range(400, 600))


BROWSER_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}


class MonitorSpider(scrapy.Spider):
    """Yields requests for the active targets of its platforms; ``-a targets=1,5`` narrows the run."""

    platforms: ClassVar[tuple[str, ...]] = ()
    # True: install scrapy-playwright so requests with meta={"playwright": True} render in Chromium.
    uses_browser: ClassVar[bool] = False

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        if cls.uses_browser:
            settings.set("DOWNLOAD_HANDLERS", BROWSER_HANDLERS, priority="spider")

    def __init__(self, *args: Any, targets: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target_ids = [int(t) for t in targets.split(",")] if targets else None
        self.db_path = ""
        self.open_limit_s = 15.0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> MonitorSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.db_path = resolve_db_path(crawler.settings.get("MONITOR_DB"))
        spider.open_limit_s = crawler.settings.getfloat("MONITOR_OPEN_LIMIT_S", 15.0)
        return spider

    def load_targets(self) -> list[dict[str, Any]]:
        db = open_db(self.db_path)
        try:
            return self.select_targets(db)
        finally:
            db.close()

    def select_targets(self, db: Any) -> list[dict[str, Any]]:
        return load_targets(db, platforms=self.platforms, ids=self.target_ids)

    def make_check(
        self,
        response: Response,
        *,
        kind: str,
        target_id: int | None,
        outcome: CheckOutcome | None = None,
        error: str | None = None,
        found_on: str | None = None,
    ) -> CheckItem:
        latency = response.meta.get("download_latency")
        request_url = response.request.url if response.request else response.url
        return CheckItem(
            kind=kind,
            url=response.meta.get("redirect_urls", [request_url])[0],
            final_url=response.url,
            target_id=target_id,
            http_status=response.status,
            outcome=outcome or outcome_for_status(response.status),
            latency_ms=round(latency * 1000, 1) if latency is not None else None,
            within_limit=int(latency <= self.open_limit_s) if latency is not None else None,
            method=response.request.method if response.request else "GET",
            error=error,
            found_on=found_on,
            checked_at=now_iso(),
        )

    def failure_check(self, failure: Failure, *, kind: str) -> CheckItem:
        """Errback body: a network failure becomes a failed check, never a crash."""
        request = failure.request  # type: ignore[attr-defined]
        outcome, error = outcome_for_failure(failure)
        return CheckItem(
            kind=kind,
            url=request.url,
            target_id=request.meta.get("target", {}).get("id"),
            outcome=outcome,
            error=error,
            method=request.method,
            within_limit=0,
            found_on=request.meta.get("found_on"),
            checked_at=now_iso(),
        )
