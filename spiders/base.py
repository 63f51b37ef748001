"""The base every platform spider shares: targets from the database, and fetches recorded as checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from core.clock import now_iso, parse_as_of
from core.enums import CheckOutcome
from core.items import AccountSeenItem, CheckItem, PostItem, ValidatorItem
from db import load_targets, open_db, resolve_db_path
from db.accounts import load_accounts_seen, load_known_posts, load_validators
from spiders.outcomes import outcome_for_failure, outcome_for_status

# Let error statuses reach the callback (they are findings), while redirects are still followed.
ERROR_STATUSES = list(range(400, 600))
# ... and 304, the answer to a conditional request for an unchanged page.
CONDITIONAL_STATUSES = [304, *ERROR_STATUSES]


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
        self.as_of = parse_as_of(None)
        # Incremental state, loaded once at start (load_state): post ids per target, HTTP validators.
        self.known_posts: dict[int, set[str]] = {}
        self.validators: dict[str, tuple[str | None, str | None]] = {}
        self.accounts_seen: set[int] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> MonitorSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.db_path = resolve_db_path(crawler.settings.get("MONITOR_DB"))
        spider.open_limit_s = crawler.settings.getfloat("MONITOR_OPEN_LIMIT_S", 15.0)
        spider.as_of = parse_as_of(crawler.settings.get("MONITOR_AS_OF"))
        return spider

    def load_targets(self) -> list[dict[str, Any]]:
        """The active targets of this spider, and the incremental state for them (known posts, validators)."""
        db = open_db(self.db_path)
        try:
            targets = self.select_targets(db)
            ids = [t["id"] for t in targets]
            self.known_posts = load_known_posts(db, ids)
            self.validators = load_validators(db, ids)
            self.accounts_seen = load_accounts_seen(db, ids)
            return targets
        finally:
            db.close()

    # --- incremental crawling: conditional requests, known posts, per-target accounting ----------

    def conditional_headers(self, key: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a URL fetched before (key: the URL without secrets)."""
        etag, last_modified = self.validators.get(key, (None, None))
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    def validator_item(self, response: Response, *, key: str, target_id: int | None) -> ValidatorItem | None:
        """Validators to store once the response has been fully processed (None if it sent none)."""
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        if response.status != 200 or not (etag or last_modified):
            return None
        return ValidatorItem(
            url=key,
            target_id=target_id,
            etag=etag.decode("latin-1") if etag else None,
            last_modified=last_modified.decode("latin-1") if last_modified else None,
        )

    def is_known(self, target_id: int, post_id: str) -> bool:
        return post_id in self.known_posts.get(target_id, set())

    def count_blocked(self, target_id: int | None) -> None:
        """A refusal the page body shows (the middleware counts the ones the status or URL shows)."""
        if target_id is not None:
            self.crawler.stats.inc_value(f"monitor/blocked_per_target/{target_id}")  # type: ignore[union-attr]
            self.crawler.stats.inc_value("monitor/blocked")  # type: ignore[union-attr]

    def new_post(self, post: PostItem) -> PostItem:
        """Remember a post as stored and count it for the target (stats monitor/new_posts_per_target/<id>)."""
        known = self.known_posts.setdefault(post.target_id, set())
        if post.post_id not in known:
            known.add(post.post_id)
            self.crawler.stats.inc_value(f"monitor/new_posts_per_target/{post.target_id}")  # type: ignore[union-attr]
        return post

    def select_targets(self, db: Any) -> list[dict[str, Any]]:
        return load_targets(db, platforms=self.platforms, ids=self.target_ids)

    def target_request(
        self,
        url: str,
        target: dict[str, Any],
        callback: Callable[..., Any],
        *,
        kind: str,
        conditional: bool = False,
        validator_key: str | None = None,
        headers: dict[str, str] | None = None,
        **meta: Any,
    ) -> scrapy.Request:
        """A request for one of a target's pages or API answers.

        Conditional headers from earlier runs when asked (keyed by ``validator_key``, default the URL;
        never for a rendered page), 304 and error statuses reach the callback, and the browser is used
        only for a target marked ``render: js``.
        """
        key = validator_key or url
        js = target.get("render") == "js"
        use_validators = conditional and not js
        all_headers = dict(headers or {})
        if use_validators:
            all_headers.update(self.conditional_headers(key))
        return scrapy.Request(
            url,
            callback=callback,
            errback=getattr(self, "on_error", None),
            headers=all_headers,
            meta={
                "target": target,
                "kind": kind,
                "validator_key": key if use_validators else None,
                "handle_httpstatus_list": CONDITIONAL_STATUSES,
                "playwright": js,
                **meta,
            },
            dont_filter=True,
        )

    def without_content(
        self, response: Response, check: Callable[..., CheckItem], *, block_is_final: bool = False
    ) -> list[Any] | None:
        """The items for an answer that carries nothing to parse, or None when there is content.

        304 (unchanged since the validators were saved): the check, and the account seen again.
        An error status (or, with ``block_is_final``, a refusal the middleware spotted): the failed check.
        """
        if response.status == 304:
            return [check(), AccountSeenItem(target_id=response.meta["target"]["id"])]
        if response.status >= 400 or (block_is_final and response.meta.get("block_reason")):
            return [check(error=f"HTTP {response.status}")]
        return None

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
