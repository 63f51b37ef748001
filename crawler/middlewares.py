"""Cross-cutting HTTP concerns: block detection, per-target request accounting, Retry-After, secrets."""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections import defaultdict
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import CallLaterResult, call_later
from scrapy.utils.response import response_status_message

from core.clock import now
from core.config import browser_problem, monitor_config
from core.enums import CheckOutcome
from core.redact import mask_secrets
from db import open_db
from db.accounts import record_run_targets
from spiders.outcomes import BrowserUnavailable
from spiders.pagestate import PageState, classify_wall_url

logger = logging.getLogger(__name__)

BLOCK_STATUSES = frozenset({403, 412, 418, 432})
PER_TARGET = re.compile(r"monitor/(?P<key>requests|not_modified|new_posts|blocked)_per_target/(?P<id>\d+)")
# Environment variables that hold credentials: their values never reach a log line.
SECRET_ENV = ("MONITOR_WECHAT_TOKEN", "MONITOR_WECHAT_COOKIE", "MONITOR_WEIBO_COOKIE")


def block_state(response: Response, *, redirected: bool = False) -> PageState | None:
    """A refusal the status or the URL shows (a login or verification page), or None."""
    if response.status in BLOCK_STATUSES:
        return PageState(CheckOutcome.BLOCKED, None, f"HTTP {response.status}")
    return classify_wall_url(response.url, redirected=redirected)


def block_reason(response: Response, *, redirected: bool = False) -> str | None:
    """Why a response is a refusal (status or a verification URL), or None."""
    state = block_state(response, redirected=redirected)
    return state.reason if state else None


def retry_after_seconds(value: bytes | str | None, *, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return default
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        return max((parsedate_to_datetime(text) - now()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return default


class SecretFilter(logging.Filter):
    """Masks credential values in every log record a handler emits."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        masked = mask_secrets(message, self.secrets) or message  # also as a URL would encode them
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def secret_values() -> list[str]:
    """The credential values to mask: each variable whole, and each value inside a cookie string."""
    values = []
    for name in SECRET_ENV:
        raw = os.environ.get(name, "").strip()
        if not raw:
            continue
        values.append(raw)
        for part in raw.split(";"):
            _, _, value = part.partition("=")
            if len(value.strip()) >= 6:
                values.append(value.strip())
    return values


def install_secret_filter() -> None:
    secrets = secret_values()
    if not secrets:
        return
    flt = SecretFilter(secrets)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(flt)


class AccountingMiddleware:
    """Counts each download attempt per target (stats ``monitor/requests_per_target/<id>``), 304s and
    refusals, and writes them to ``run_targets`` when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_path = monitor_config(crawler).db_path
        install_secret_filter()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AccountingMiddleware:
        return cls(crawler)

    def _count(self, request: Request, key: str) -> None:
        target = request.meta.get("target") or {}
        if target.get("id") is not None:
            assert self.stats is not None
            self.stats.inc_value(f"monitor/{key}_per_target/{target['id']}")

    def process_response(self, request: Request, response: Response) -> Response:
        self._count(request, "requests")
        if response.status == 304:
            self._count(request, "not_modified")
        state = block_state(response, redirected=bool(request.meta.get("redirect_urls")))
        if state is not None:
            self._count(request, "blocked")
            assert self.stats is not None
            self.stats.inc_value("monitor/blocked")
            request.meta["block_reason"] = state.reason
            request.meta["block_outcome"] = state.outcome
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._count(request, "requests")

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Persist the per-target counters (``monitor/<key>_per_target/<id>`` stats) in run_targets."""
        assert self.stats is not None
        stats = self.stats.get_stats()
        run_id = stats.get("monitor/run_id")
        costs: dict[int, dict[str, int]] = defaultdict(dict)
        for name, value in stats.items():
            m = PER_TARGET.fullmatch(name)
            if m:
                costs[int(m["id"])][m["key"]] = int(value)
        if run_id is None or not costs:
            return
        db = open_db(self.db_path)
        try:
            record_run_targets(db, int(run_id), spider.name, costs)
        finally:
            db.close()


class BrowserGuardMiddleware:
    """A request that needs Chromium, where Chromium cannot start, fails at once as the crawler's problem
    (outcome no_browser) instead of reaching the page unrendered or raising inside Playwright."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.problem = browser_problem(monitor_config(crawler).chromium)
        self.warned = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserGuardMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("playwright") or self.problem is None:
            return
        if not self.warned:
            logger.error("%s: pages that need JavaScript are recorded as no_browser", self.problem)
            self.warned = True
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("monitor/no_browser")
        raise BrowserUnavailable(self.problem)


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retries, after the wait Retry-After asks for on 429/503 (else exponential backoff on
    5xx/429), spent outside the downloader.

    A retry that must wait is handed back to the engine once its time has come, and the answer that
    asked for the wait is dropped (its retry carries the callbacks): a waiting request holds no download
    slot, and the rest of the crawl goes on meanwhile. While any retry waits, the spider stays open;
    ``monitor/retry_pending`` says how many do.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("MONITOR_RETRY_AFTER_MAX", 120.0)
        self.backoff = settings.getfloat("MONITOR_RETRY_BACKOFF_BASE", 2.0)
        self.waiting: dict[int, CallLaterResult] = {}  # the retries not yet handed back, by number
        self.numbered = itertools.count()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        mw = super().from_crawler(crawler)
        crawler.signals.connect(mw.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def wait_for(self, request: Request, response: Response) -> float:
        tries = request.meta.get("retry_times", 0)
        default = self.backoff * (2**tries)
        if response.status in (429, 503):
            return min(
                retry_after_seconds(response.headers.get("Retry-After"), default=default), self.max_wait
            )
        return min(default, self.max_wait)

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response  # retries used up: the answer goes to its callback
        wait = self.wait_for(request, response)
        if wait <= 0:
            return retry
        self.later(retry, wait)
        # Dropped without a word: an IgnoreRequest reaches no log when its request has no errback.
        request.errback = None
        raise IgnoreRequest(f"retried in {wait:.1f} s")

    def later(self, request: Request, wait: float) -> None:
        number = next(self.numbered)
        self.waiting[number] = call_later(wait, self.release, number, request)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("monitor/retry_waits")
        self.crawler.stats.set_value("monitor/retry_pending", len(self.waiting))

    def release(self, number: int, request: Request) -> None:
        self.waiting.pop(number, None)
        assert self.crawler.stats is not None
        assert self.crawler.engine is not None
        self.crawler.stats.set_value("monitor/retry_pending", len(self.waiting))
        self.crawler.engine.crawl(request)

    def spider_idle(self) -> None:
        if self.waiting:
            raise DontCloseSpider

    def spider_closed(self, spider: Any, reason: str) -> None:
        for call in self.waiting.values():
            call.cancel()
        self.waiting.clear()
