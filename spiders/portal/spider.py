"""The portal spider (政府网站): probe, site meta, columns and their freshness, dead links, boards.

The spider only yields requests and hands answers to the pure parsers; each column is a ``ColumnJob``
(spiders/portal/jobs.py) whose further pages, articles and messages are ordinary requests, so every one
goes through the scheduler and the middlewares, is counted for its target and leaves a check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from core.clock import iso, now_iso, parse_iso
from core.enums import CheckKind, CheckOutcome, ColumnStatus
from core.items import CheckItem, ColumnItem, SiteItem
from db import open_db
from db.portal import load_unsettled_messages
from detection.rules.config import RulesError, RuleSet, load_rules
from spiders.base import ERROR_STATUSES, MonitorSpider
from spiders.portal.boards import MessageRow
from spiders.portal.columns import ColumnRule, add_target_columns, discover_columns, load_column_rules
from spiders.portal.homepage import read_homepage, wall_of
from spiders.portal.jobs import BoardReader, ColumnJob, Fetch, Limits, MessageHorizon, Step, message_horizon
from spiders.portal.links import LinkChecker, extract_links, site_root
from spiders.portal.lists import find_homepage_items
from spiders.portal.meta import detect_cms, ensure_encoding, page_decoding, parse_site_meta


def probe_request(
    spider: MonitorSpider, target: dict[str, Any], callback: Any, errback: Any
) -> scrapy.Request:
    """The homepage fetch that doubles as an availability probe: one attempt, timed, no retry."""
    return scrapy.Request(
        target["url"],
        callback=callback,
        errback=errback,
        meta={
            "target": target,
            "kind": CheckKind.PROBE,
            "handle_httpstatus_list": ERROR_STATUSES,
            "dont_retry": True,
            "download_timeout": spider.open_limit_s + 5,
        },
        dont_filter=True,
    )


def probe_failure(spider: MonitorSpider, failure: Failure) -> CheckItem:
    check = spider.failure_check(failure, kind=CheckKind.PROBE)
    spider.crawler.stats.inc_value(f"monitor/probe/{check.outcome}")
    return check


class PortalSpider(MonitorSpider):
    """Every active portal target: probe, site meta, columns, column items, dead links, message boards."""

    name = "portal"
    platforms: ClassVar[tuple[str, ...]] = ("portal",)
    start_kind = CheckKind.PROBE
    uses_browser = True  # only a column whose list is written by script asks for the browser

    max_columns: int
    limits: Limits
    rules: RuleSet  # the rules file: how far back a board is read follows portal.unanswered_message
    board_margin_days: float
    unsettled: dict[tuple[int, str], list[dict[str, Any]]]  # (target, board) -> messages to re-check
    column_rules: tuple[ColumnRule, ...]
    links: LinkChecker
    jobs: set[ColumnJob]  # columns still waiting for answers
    dropping: bool  # requests dropped unanswered are being settled

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider: PortalSpider = super().from_crawler(crawler, *args, **kwargs)  # type: ignore[assignment]
        s = crawler.settings
        spider.max_columns = s.getint("MONITOR_PORTAL_MAX_COLUMNS", 60)
        spider.limits = Limits(
            max_pages=s.getint("MONITOR_PORTAL_MAX_PAGES", 5),
            article_dates=s.getint("MONITOR_PORTAL_ARTICLE_DATES", 30),
            link_articles=s.getint("MONITOR_PORTAL_LINK_ARTICLES", 2),
            max_messages=s.getint("MONITOR_PORTAL_MAX_MESSAGES", 50),
            board_pages=s.getint("MONITOR_BOARD_MAX_PAGES", 40),
        )
        spider.rules = load_rules(spider.config.rules_path)
        spider.board_margin_days = s.getfloat("MONITOR_BOARD_MARGIN_DAYS", 31.0)
        raw_rules = s.get("MONITOR_PORTAL_COLUMN_RULES") or []
        spider.column_rules = load_column_rules(
            json.loads(raw_rules) if isinstance(raw_rules, str) else raw_rules
        )
        spider.links = LinkChecker(
            enabled=s.getbool("MONITOR_PORTAL_CHECK_LINKS", True),
            max_depth=s.getint("MONITOR_PORTAL_LINK_DEPTH", 3),
            timeout=s.getfloat("MONITOR_PORTAL_LINK_TIMEOUT_S", 10.0),
            callback=spider.on_link,
            errback=spider.on_link_error,
        )
        spider.jobs, spider.dropping, spider.unsettled = set(), False, {}
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    def load_targets(self) -> list[dict[str, Any]]:
        """The targets, and the messages earlier runs left open or unknown on their boards (re-checked)."""
        targets = super().load_targets()
        window = self.rules.resolved(self.rules.default_profile)["portal.unanswered_message"]["window_days"]
        db = open_db(self.db_path)
        try:
            self.unsettled = load_unsettled_messages(
                db, [t["id"] for t in targets], since=iso(self.as_of - timedelta(days=window))
            )
        finally:
            db.close()
        return targets

    def recheck(self, target: dict[str, Any], board_url: str) -> tuple[MessageRow, ...]:
        return tuple(
            MessageRow(
                url=m["url"],
                title=m["title"],
                asked_at=parse_iso(m["asked_at"]) if m["asked_at"] else None,
                message_id=m["message_id"],
            )
            for m in self.unsettled.get((target["id"], board_url), ())
        )

    def start_target(self, target: dict[str, Any]) -> Iterator[Any]:
        yield probe_request(self, target, self.parse_homepage, self.on_probe_error)

    def on_probe_error(self, failure: Failure) -> Iterator[Any]:
        # Unreachable: a failed probe and nothing else (no site or column rows to misread as stale).
        yield probe_failure(self, failure)

    # -- homepage ----------------------------------------------------------------------------------

    def parse_homepage(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        home = read_homepage(response) if response.status < 400 else None
        probe = self.check(response, kind=CheckKind.PROBE, outcome=home.outcome if home else None)
        if home is not None and home.outcome is not None:
            probe.error = self.mask(home.reason)
        self.crawler.stats.inc_value(f"monitor/probe/{probe.outcome}")
        if home is None or home.page is None:
            # Not a page to read (an error status, a wall, an empty or non-HTML answer, garbled text):
            # the probe alone, and no site row to misread as a site without SiteIDCode or dated items.
            probe.error = probe.error or f"HTTP {response.status}"
            yield probe
            return
        yield probe
        page, decoding = home.page, home.decoding
        if decoding is not None and decoding.overrides_declaration:
            self.crawler.stats.inc_value("monitor/portal/charset_mismatch")
        sel = page.selector
        root = site_root(page.url)
        meta = parse_site_meta(sel)
        entries, _, _ = find_homepage_items(sel, page.url, self.as_of)
        dated = [e.published_at for e in entries if e.published_at]
        yield SiteItem(
            target_id=tid,
            homepage_url=target["url"],
            final_url=page.url,
            site_name=meta.site_name,
            site_domain=meta.site_domain,
            site_id_code=meta.site_id_code,
            site_id_code_valid=meta.site_id_code_valid,
            encoding=decoding.describe() if decoding is not None else page.encoding,
            cms=detect_cms(page.text, page.url),
            icp=meta.icp,
            police_record=meta.police_record,
            organizer=meta.organizer,
            homepage_items=len(entries),
            homepage_undated=len(entries) - len(dated),
            homepage_newest_at=iso(max(dated)) if dated else None,
            checked_at=now_iso(),
        )
        yield from self.links.requests(
            extract_links(sel, page.url), found_on=page.url, target=target, depth=1
        )
        options = target.get("options") or {}
        rules = (
            load_column_rules(options.get("column_rules"))
            if options.get("column_rules")
            else self.column_rules
        )
        columns = add_target_columns(
            discover_columns(sel, page.url, root), options.get("columns") or [], page.url
        )
        horizon = self.message_horizon(target)
        for col in columns[: self.max_columns]:
            job = ColumnJob(
                target=target,
                col=col,
                rules=rules,
                root=root,
                limits=self.limits,
                as_of=self.as_of,
                horizon=horizon,
                recheck=self.recheck(target, col.url),
            )
            self.jobs.add(job)
            yield self.job_request(job, job.first)

    def message_horizon(self, target: dict[str, Any]) -> MessageHorizon:
        """How far back this target's boards are read: its profile's unanswered-message months, plus the
        MONITOR_BOARD_MARGIN_DAYS margin."""
        try:
            settings = self.rules.resolved(self.rules.profile_for(target, self.config.profile))
        except RulesError:  # an unknown profile: detection reports it; read as the default profile says
            settings = self.rules.resolved(self.rules.default_profile)
        return message_horizon(settings, self.as_of, self.board_margin_days)

    # -- columns: one job each ---------------------------------------------------------------------

    def job_request(self, job: ColumnJob, fetch: Fetch) -> scrapy.Request:
        return self.target_request(
            fetch.url,
            job.target,
            self.parse_job_page,
            kind=fetch.kind,
            render=True if fetch.step is Step.RENDER else None,
            errback=self.on_job_error,
            job=job,
            fetch=fetch,
            found_on=fetch.found_on,
        )

    def parse_job_page(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        fetch: Fetch = response.meta["fetch"]
        check = self.check(response, kind=fetch.kind)
        if check.outcome == CheckOutcome.OK and response.body:
            # A page that cannot be read (garbled bytes, a wall served in its place) shows no rows and no
            # dates: it is a failed fetch, not a list without dated items.
            decoding = page_decoding(response)
            wall = None if decoding.is_garbled else wall_of(ensure_encoding(response, decoding))
            if decoding.is_garbled:
                check.outcome, check.error = CheckOutcome.MALFORMED, "undecodable text"
            elif wall is not None:
                check.outcome, check.error = wall.outcome, self.mask(wall.reason)
                if wall.outcome == CheckOutcome.BLOCKED:
                    self.count_blocked(response.meta["target"]["id"])
        yield check
        if not CheckOutcome(check.outcome).is_ok:
            yield from self.settle(
                response.meta["job"], fetch, None, check.error or f"HTTP {response.status}"
            )
        else:
            yield from self.settle(response.meta["job"], fetch, response)

    def on_job_error(self, failure: Failure) -> Iterator[Any]:
        meta = failure.request.meta  # type: ignore[attr-defined]
        check = self.failure_check(failure, kind=meta["fetch"].kind)
        yield check
        yield from self.settle(meta["job"], meta["fetch"], None, check.error)

    def settle(
        self,
        job: ColumnJob,
        fetch: Fetch,
        response: Response | None = None,
        error: str | None = None,
        *,
        drop: bool = False,
    ) -> Iterator[Any]:
        """Hand one answer to its job; request what it asks for next, and give its items once done."""
        assert self.crawler.stats is not None
        if fetch.step is Step.RENDER:
            self.crawler.stats.inc_value("monitor/portal/rendered")
        advance = job.drop(fetch) if drop else job.settle(fetch, response, error)
        for batch in advance.links:
            yield from self.links.requests(
                batch.urls, found_on=batch.found_on, target=job.target, depth=batch.depth
            )
        for more in advance.fetches:
            yield self.job_request(job, more)
        if not job.done:
            return
        self.jobs.discard(job)
        if job.failure is not None:
            self.logger.error("column %s could not be parsed", job.col.url, exc_info=job.failure)
        stats = self.crawler.stats
        if isinstance(job.reader, BoardReader) and job.reader.capped:
            stats.inc_value("monitor/portal/message_pages_capped", job.reader.capped)
        for item in job.items():
            if isinstance(item, ColumnItem) and item.status == ColumnStatus.PARSE_FAILED:
                stats.inc_value("monitor/portal/parse_failed")
            if isinstance(item, ColumnItem) and item.truncated:
                stats.inc_value("monitor/portal/board_truncated")
                self.logger.warning(
                    "board %s: %d list pages read (MONITOR_BOARD_MAX_PAGES or a failed page), older "
                    "messages not examined",
                    item.url,
                    item.pages_followed,
                )
            yield item

    def on_idle(self) -> None:
        """A request a middleware drops without an errback (UrlLengthMiddleware past URLLENGTH_LIMIT,
        DepthMiddleware past DEPTH_LIMIT) would leave its job waiting for ever: once nothing else is left
        to crawl, those requests are settled as failed, so each job still gives what it read. A retry
        waiting out a Retry-After (crawler.middlewares.RetryAfterMiddleware) is not dropped: it comes back."""
        if not self.jobs or self.dropping:
            return
        assert self.crawler.stats is not None
        if self.crawler.stats.get_value("monitor/retry_pending", 0):
            raise DontCloseSpider
        self.dropping = True
        assert self.crawler.engine is not None
        self.crawler.engine.crawl(scrapy.Request("data:,", callback=self.settle_dropped, dont_filter=True))
        raise DontCloseSpider

    def settle_dropped(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        self.dropping = False
        for job in list(self.jobs):
            for fetch in list(job.waiting):
                self.logger.warning("%s %s was dropped before download", fetch.kind, fetch.url)
                yield from self.settle(job, fetch, drop=True)

    # -- dead links --------------------------------------------------------------------------------

    def on_link(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        request = response.request
        assert request is not None
        if request.method == "HEAD" and response.status in (405, 501):  # servers that refuse HEAD
            yield self.links.request(
                request.url, "GET", found_on=request.meta["found_on"], target=request.meta["target"]
            )
            return
        check = self.check(response, kind=CheckKind.LINK)
        self.crawler.stats.inc_value(f"monitor/link/{check.outcome}")
        yield check

    def on_link_error(self, failure: Failure) -> Iterator[Any]:
        check = self.failure_check(failure, kind=CheckKind.LINK)
        self.crawler.stats.inc_value(f"monitor/link/{check.outcome}")
        yield check
