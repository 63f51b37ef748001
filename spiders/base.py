"""The base every platform spider shares: targets from the database, requests, and fetches as checks.

A platform spider says which targets are its own and what to request first for one target
(``start_target``); its callbacks open with ``preamble`` (304, error status, refusal) and record what
came back with ``check``; ``on_error`` turns every network failure into a check. Canary requests
(MONITOR_CANARY_URLS) go first, so a run can tell "the crawler is offline" from "every site is down".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ClassVar

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from core.clock import now_iso
from core.config import MonitorConfig, monitor_config
from core.enums import AccountStatus, CheckKind, CheckOutcome
from core.fields import drain_bad_fields
from core.items import AccountSeenItem, CheckItem, PostItem, ValidatorItem
from core.redact import has_credentials, mask_secrets, redact_url
from db import load_targets, open_db
from db.accounts import (
    load_account_ids,
    load_accounts_seen,
    load_known_posts,
    load_validators,
    load_validators_by_target,
)
from spiders.outcomes import outcome_for_failure, outcome_for_status

# Let error statuses reach the callback (they are findings), while redirects are still followed.
ERROR_STATUSES = list(range(400, 600))
# ... and 304, the answer to a conditional request for an unchanged page.
CONDITIONAL_STATUSES = [304, *ERROR_STATUSES]
# Distributed mode: a seed request carries one target and its incremental state as plain data.
SEED = "monitor_seed"
SEED_TARGET = "monitor_seed_target"


BROWSER_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}


class SourceError(ValueError):
    """An answer that is not the content expected: the outcome, the reason, and any account state it shows."""

    def __init__(self, outcome: CheckOutcome, reason: str, status: AccountStatus | None = None) -> None:
        super().__init__(reason)
        self.outcome, self.reason, self.status = outcome, reason, status


class RunFlags:
    """What one part of a crawl learns that all of it must act on, for the rest of the run: a refused
    session (WeChat MP frequency control) stops every further listing on it. One process keeps them
    here; in distributed mode every worker of the crawl shares them through Redis
    (crawler/distributed/flags.py), so one worker's refusal holds for all."""

    def __init__(self) -> None:
        self._flags: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self._flags.get(name)

    def set(self, name: str, value: str) -> None:
        self._flags.setdefault(name, value)  # the first reason stands


class MonitorSpider(scrapy.Spider):
    """Yields requests for the active targets of its platforms; ``-a targets=1,5`` narrows the run."""

    platforms: ClassVar[tuple[str, ...]] = ()
    # The kind of a target's first fetch: what a target that cannot be requested is recorded as.
    start_kind: ClassVar[CheckKind] = CheckKind.LISTING
    # True: install scrapy-playwright so requests with meta={"playwright": True} render in Chromium.
    uses_browser: ClassVar[bool] = False
    config: MonitorConfig

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        if cls.uses_browser:
            settings.set("DOWNLOAD_HANDLERS", BROWSER_HANDLERS, priority="spider")

    def __init__(self, *args: Any, targets: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target_ids = [int(t) for t in targets.split(",")] if targets else None
        # Incremental state, loaded once at start (load_targets): post ids per target, HTTP validators.
        self.known_posts: dict[int, set[str]] = {}
        self.validators: dict[str, tuple[str | None, str | None]] = {}
        self.validator_keys: dict[int, dict[str, tuple[str | None, str | None]]] = {}
        self.accounts_seen: set[int] = set()
        # Identities stored on each target's account (gh_id, wechat_id, timeline_containerid).
        self.account_ids: dict[int, dict[str, str]] = {}
        self.flags: RunFlags = RunFlags()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> MonitorSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = monitor_config(crawler)
        return spider

    @property
    def db_path(self) -> str:
        return self.config.db_path

    @property
    def as_of(self) -> Any:
        return self.config.as_of

    @property
    def open_limit_s(self) -> float:
        return self.config.open_limit_s

    # --- what to request --------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        if self.crawler.stats and self.crawler.stats.get_value("monitor/skipped"):
            return  # the same spider is already running on this database (the store's run lock)
        for url in self.config.canary_urls:
            yield scrapy.Request(
                url,
                callback=self.parse_canary,
                errback=self.on_error,
                meta={"kind": CheckKind.CANARY, "dont_retry": True, "handle_httpstatus_list": ERROR_STATUSES},
                dont_filter=True,
                priority=100,
            )
        for target in self.load_targets():
            # One target whose registry entry cannot be requested (a URL without a scheme in its options)
            # is a failed check of its own; the targets after it still start.
            try:
                for request in self.start_target(target):
                    yield request
            except Exception as exc:
                yield self.invalid_target_check(target, exc)

    def invalid_target_check(self, target: dict[str, Any], exc: Exception) -> CheckItem:
        error = self.mask(f"{type(exc).__name__}: {exc}"[:500])
        self.logger.error(
            "target %s (%s) cannot be requested: %s", target.get("id"), target.get("name"), error
        )
        self.crawler.stats.inc_value("monitor/invalid_target")  # type: ignore[union-attr]
        return CheckItem(
            kind=self.start_kind,
            url=self.scrub_url(
                str(target.get("url") or target.get("feed_url") or target.get("handle") or "")
            ),
            target_id=target.get("id"),
            outcome=CheckOutcome.INVALID_TARGET,
            error=error,
            checked_at=now_iso(),
        )

    def closed(self, reason: str) -> None:
        """Fields the parsers could not read, into the run's stats (monitor/bad_field/<name>)."""
        for name, count in drain_bad_fields().items():
            self.crawler.stats.inc_value(f"monitor/bad_field/{name}", count)  # type: ignore[union-attr]

    def start_target(self, target: dict[str, Any]) -> Iterator[Any]:
        """The first requests (or items) for one target."""
        raise NotImplementedError

    def seed_request(self, target: dict[str, Any]) -> scrapy.Request:
        """One target as a request another process can crawl (distributed mode): a ``data:`` URL that
        costs no download, with the target and what earlier runs knew of it in plain-data meta."""
        tid = target["id"]
        state = {
            "target": target,
            "known_posts": sorted(self.known_posts.get(tid, ())),
            "validators": {k: list(v) for k, v in self.validator_keys.get(tid, {}).items()},
            "seen": tid in self.accounts_seen,
        }
        return scrapy.Request(
            f"data:,{self.name}/{tid}",
            callback=self.expand_seed,
            meta={SEED: state, SEED_TARGET: tid},
        )

    def expand_seed(self, response: Response) -> Iterator[Any]:
        """A worker's first step for a seeded target: take its state, then crawl it as usual."""
        state = response.meta[SEED]
        target = state["target"]
        tid = target["id"]
        self.known_posts[tid] = set(state["known_posts"])
        self.validators.update({k: (v[0], v[1]) for k, v in state["validators"].items()})
        if state["seen"]:
            self.accounts_seen.add(tid)
        yield from self.start_target(target)

    def parse_canary(self, response: Response) -> Iterator[Any]:
        yield self.check(response, kind=CheckKind.CANARY)

    def load_targets(self) -> list[dict[str, Any]]:
        """The active targets of this spider, and the incremental state for them (known posts, validators,
        the identities their accounts named)."""
        db = open_db(self.db_path)
        try:
            targets = self.select_targets(db)
            ids = [t["id"] for t in targets]
            self.known_posts = load_known_posts(db, ids)
            self.validators = load_validators(db, ids)
            self.validator_keys = load_validators_by_target(db, ids)
            self.accounts_seen = load_accounts_seen(db, ids)
            self.account_ids = load_account_ids(db, ids)
            return targets
        finally:
            db.close()

    def select_targets(self, db: Any) -> list[dict[str, Any]]:
        return load_targets(db, platforms=self.platforms, ids=self.target_ids)

    def target_request(
        self,
        url: str,
        target: dict[str, Any],
        callback: Callable[..., Any],
        *,
        kind: CheckKind,
        conditional: bool = False,
        validator_key: str | None = None,
        headers: dict[str, str] | None = None,
        render: bool | None = None,
        errback: Callable[..., Any] | None = None,
        **meta: Any,
    ) -> scrapy.Request:
        """A request for one of a target's pages or API answers.

        Conditional headers from earlier runs when asked (keyed by ``validator_key``, default the URL;
        never for a rendered page), 304 and error statuses reach the callback, and the browser is used
        only for a target marked ``render: js`` (or when ``render`` says so).
        """
        key = validator_key or self.redact(url)
        js = target.get("render") == "js" if render is None else render
        if js and self.carries_secret(url):
            js = False  # a credential never enters Chromium, whose own redirects and Referers we cannot vet
        use_validators = conditional and not js
        all_headers = dict(headers or {})
        if use_validators:
            all_headers.update(self.conditional_headers(key))
        return scrapy.Request(
            url,
            callback=callback,
            errback=errback or self.on_error,
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

    # --- incremental crawling: conditional requests, known posts ----------------------------------

    def conditional_headers(self, key: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a URL fetched before (key: the URL without secrets)."""
        etag, last_modified = self.validators.get(key, (None, None))
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    def validator_item(
        self, response: Response, *, key: str | None = None, target_id: int | None = None
    ) -> ValidatorItem | None:
        """Validators to store once the response has been fully processed (None if it sent none)."""
        key = key or response.meta.get("validator_key")
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        if not key or response.status != 200 or not (etag or last_modified):
            return None
        return ValidatorItem(
            url=key,
            target_id=target_id if target_id is not None else (response.meta.get("target") or {}).get("id"),
            etag=etag.decode("latin-1") if etag else None,
            last_modified=last_modified.decode("latin-1") if last_modified else None,
        )

    def is_known(self, target_id: int, post_id: str) -> bool:
        return post_id in self.known_posts.get(target_id, set())

    def new_post(self, post: PostItem) -> PostItem:
        """Remember a post as stored and count it for the target (stats monitor/new_posts_per_target/<id>)."""
        return self.new_posts([post])[0]

    def new_posts(self, posts: list[PostItem]) -> list[PostItem]:
        """``new_post`` for a page's posts, counted once per target."""
        fresh: dict[int, int] = {}
        for post in posts:
            known = self.known_posts.setdefault(post.target_id, set())
            if post.post_id not in known:
                known.add(post.post_id)
                fresh[post.target_id] = fresh.get(post.target_id, 0) + 1
        for tid, n in fresh.items():
            self.crawler.stats.inc_value(f"monitor/new_posts_per_target/{tid}", n)  # type: ignore[union-attr]
        return posts

    def count_blocked(self, target_id: int | None) -> None:
        """A refusal the page body shows (the middleware counts the ones the status or URL shows)."""
        if target_id is not None:
            self.crawler.stats.inc_value(f"monitor/blocked_per_target/{target_id}")  # type: ignore[union-attr]
            self.crawler.stats.inc_value("monitor/blocked")  # type: ignore[union-attr]

    # --- what came back -----------------------------------------------------------------------------

    def redact(self, url: str) -> str:
        """The URL as it may be stored and logged (a platform with session tokens strips them)."""
        return url

    def secrets(self) -> tuple[str, ...]:
        """Credential values this spider sends; never stored or logged."""
        return ()

    def mask(self, text: str | None) -> str | None:
        """``text`` with this spider's credential values masked, also where a URL encoded them."""
        return mask_secrets(text, self.secrets())

    def scrub_url(self, url: str) -> str:
        """A URL as it is stored: the platform's redaction, session parameters dropped at any depth
        (an SSO login URL carries the page it guards), and any credential value left masked."""
        return self.mask(redact_url(self.redact(url))) or url

    def carries_secret(self, url: str) -> bool:
        return has_credentials(url) or self.mask(url) != url

    def preamble(self, response: Response, *, block_is_final: bool = False) -> list[Any] | None:
        """The items for an answer that carries nothing to parse, or None when there is content.

        304 (unchanged since the validators were saved): the check, and the account seen again.
        An error status (or, with ``block_is_final``, a refusal the middleware spotted): the failed check.
        """
        if response.status == 304:
            return [self.check(response), AccountSeenItem(target_id=response.meta["target"]["id"])]
        if response.status >= 400 or (block_is_final and response.meta.get("block_reason")):
            return [self.check(response, error=f"HTTP {response.status}")]
        return None

    def check(
        self,
        response: Response,
        *,
        kind: CheckKind | str | None = None,
        outcome: CheckOutcome | None = None,
        error: str | None = None,
        found_on: str | None = None,
    ) -> CheckItem:
        """The check for an answer: its outcome from the status unless given; a refusal the middleware
        spotted is ``blocked``; a refusal in the body (given as ``outcome``) is counted for the target."""
        latency = response.meta.get("download_latency")
        request_url = response.request.url if response.request else response.url
        target_id = (response.meta.get("target") or {}).get("id")
        item = CheckItem(
            kind=str(kind or response.meta.get("kind") or CheckKind.PAGE),
            url=self.scrub_url(response.meta.get("redirect_urls", [request_url])[0]),
            final_url=self.scrub_url(response.url),
            target_id=target_id,
            http_status=response.status,
            outcome=outcome or outcome_for_status(response.status),
            latency_ms=round(latency * 1000, 1) if latency is not None else None,
            within_limit=int(latency <= self.open_limit_s) if latency is not None else None,
            method=response.request.method if response.request else "GET",
            error=self.mask(error),
            found_on=found_on or response.meta.get("found_on"),
            checked_at=now_iso(),
        )
        if outcome is None and response.meta.get("block_reason") and response.status < 400:
            item.outcome = response.meta.get("block_outcome") or CheckOutcome.BLOCKED
            item.error = self.mask(response.meta["block_reason"])
        elif outcome == CheckOutcome.BLOCKED and not response.meta.get("block_reason"):
            self.count_blocked(target_id)
        response.meta["checked"] = True
        return item

    def failure_check(self, failure: Failure, *, kind: CheckKind | str | None = None) -> CheckItem:
        """A network failure (or a request that could not leave: no browser) as a failed check."""
        request = failure.request  # type: ignore[attr-defined]
        outcome, error = outcome_for_failure(failure)
        return CheckItem(
            kind=str(kind or request.meta.get("kind") or CheckKind.PAGE),
            url=self.scrub_url(request.url),
            target_id=(request.meta.get("target") or {}).get("id"),
            outcome=outcome,
            error=self.mask(error),
            method=request.method,
            within_limit=0,
            found_on=request.meta.get("found_on"),
            checked_at=now_iso(),
        )

    def on_error(self, failure: Failure) -> Iterator[Any]:
        """Errback: a network failure becomes a failed check, never a crash."""
        check = self.failure_check(failure)
        self.crawler.stats.inc_value(f"monitor/{check.kind}/{check.outcome}")  # type: ignore[union-attr]
        yield check
