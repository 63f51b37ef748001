"""The portal spider (政府网站): probe, site meta, columns and their freshness, dead links, boards."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import scrapy
from parsel import Selector
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from core.clock import iso, now_iso
from core.enums import CheckKind, ColumnKind, ColumnStatus
from core.items import CheckItem, ColumnEntryItem, ColumnItem, SiteItem
from spiders.base import ERROR_STATUSES, MonitorSpider
from spiders.outcomes import outcome_for_failure, outcome_for_status
from spiders.portal.boards import build_message, classify_board, parse_message_detail, parse_message_list
from spiders.portal.columns import (
    ColumnRef,
    ColumnRule,
    add_target_columns,
    classify_column,
    discover_columns,
    load_column_rules,
)
from spiders.portal.links import LinkChecker, extract_links, is_internal, site_root
from spiders.portal.lists import (
    EMPTY_TEXT,
    ListEntry,
    find_homepage_items,
    hanweb_entries,
    next_page_url,
    parse_article_date,
    parse_column_page,
)
from spiders.portal.meta import detect_cms, ensure_encoding, meta_content, parse_site_meta


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
    uses_browser = True  # only a column whose list is written by script asks for the browser

    max_pages: int
    max_columns: int
    article_dates: int
    link_articles: int
    link_depth: int
    max_messages: int
    column_rules: tuple[ColumnRule, ...]
    links: LinkChecker

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider: PortalSpider = super().from_crawler(crawler, *args, **kwargs)  # type: ignore[assignment]
        s = crawler.settings
        spider.max_pages = s.getint("MONITOR_PORTAL_MAX_PAGES", 5)
        spider.max_columns = s.getint("MONITOR_PORTAL_MAX_COLUMNS", 60)
        spider.article_dates = s.getint("MONITOR_PORTAL_ARTICLE_DATES", 30)
        spider.link_articles = s.getint("MONITOR_PORTAL_LINK_ARTICLES", 2)
        spider.link_depth = s.getint("MONITOR_PORTAL_LINK_DEPTH", 3)
        spider.max_messages = s.getint("MONITOR_PORTAL_MAX_MESSAGES", 50)
        raw_rules = s.get("MONITOR_PORTAL_COLUMN_RULES") or []
        spider.column_rules = load_column_rules(
            json.loads(raw_rules) if isinstance(raw_rules, str) else raw_rules
        )
        spider.links = LinkChecker(
            enabled=s.getbool("MONITOR_PORTAL_CHECK_LINKS", True),
            max_depth=spider.link_depth,
            timeout=s.getfloat("MONITOR_PORTAL_LINK_TIMEOUT_S", 10.0),
            callback=spider.on_link,
            errback=spider.on_link_error,
        )
        return spider

    def start_target(self, target: dict[str, Any]) -> Iterator[Any]:
        yield probe_request(self, target, self.parse_homepage, self.on_probe_error)

    def on_probe_error(self, failure: Failure) -> Iterator[Any]:
        # Unreachable: a failed probe and nothing else (no site or column rows to misread as stale).
        yield probe_failure(self, failure)

    # -- homepage ----------------------------------------------------------------------------------

    async def parse_homepage(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        probe = self.check(response, kind=CheckKind.PROBE)
        self.crawler.stats.inc_value(f"monitor/probe/{probe.outcome}")
        if response.status >= 400 or not response.body:
            probe.error = probe.error or f"HTTP {response.status}"
            yield probe
            return
        yield probe
        page = ensure_encoding(response)
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
            encoding=page.encoding,
            cms=detect_cms(page.text, page.url),
            icp=meta.icp,
            police_record=meta.police_record,
            organizer=meta.organizer,
            homepage_items=len(entries),
            homepage_undated=len(entries) - len(dated),
            homepage_newest_at=iso(max(dated)) if dated else None,
            checked_at=now_iso(),
        )
        for req in self.links.requests(
            extract_links(sel, page.url), found_on=page.url, target=target, depth=1
        ):
            yield req
        options = target.get("options") or {}
        rules = (
            load_column_rules(options.get("column_rules"))
            if options.get("column_rules")
            else self.column_rules
        )
        columns = add_target_columns(
            discover_columns(sel, page.url, root), options.get("columns") or [], page.url
        )
        for col in columns[: self.max_columns]:
            yield scrapy.Request(
                col.url,
                callback=self.parse_column,
                errback=self.on_column_error,
                meta={
                    "target": target,
                    "kind": CheckKind.COLUMN,
                    "column": col,
                    "rules": rules,
                    "root": root,
                    "handle_httpstatus_list": ERROR_STATUSES,
                    "playwright": target.get("render") == "js",
                },
                dont_filter=True,
            )

    # -- columns -----------------------------------------------------------------------------------

    def on_column_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        col: ColumnRef = request.meta["column"]
        check = self.failure_check(failure, kind=CheckKind.COLUMN)
        yield check
        kind, rule = classify_column(
            name=col.name, url=col.url, column_type=None, rules=request.meta["rules"]
        )
        yield self.column_item(
            request.meta["target"]["id"], col, kind, rule, None, ColumnStatus.UNREACHABLE, error=check.error
        )

    def column_item(
        self, tid: int, col: ColumnRef, kind: str, rule: str, column_type: str | None, status: str, **kw: Any
    ) -> ColumnItem:
        return ColumnItem(
            target_id=tid,
            url=col.url,
            name=col.name,
            kind=kind,
            kind_rule=rule,
            column_type=column_type,
            source=col.source,
            status=status,
            checked_at=now_iso(),
            **kw,
        )

    async def fetch(self, url: str, *, playwright: bool = False, method: str = "GET") -> Response | Failure:
        """An inline fetch (pagination, article pages): the response, or the failure as a value."""
        request = scrapy.Request(
            url,
            method=method,
            meta={"handle_httpstatus_list": ERROR_STATUSES, "playwright": playwright},
            dont_filter=True,
        )
        try:
            return await self.crawler.engine.download_async(request)  # type: ignore[union-attr]
        except Exception as exc:
            failure = Failure(exc)
            failure.request = request  # type: ignore[attr-defined]
            return failure

    async def parse_column(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        target, col = response.meta["target"], response.meta["column"]
        tid = target["id"]
        yield self.check(response, kind=CheckKind.COLUMN)
        if response.status >= 400:
            kind, rule = classify_column(
                name=col.name, url=col.url, column_type=None, rules=response.meta["rules"]
            )
            yield self.column_item(
                tid, col, kind, rule, None, ColumnStatus.UNREACHABLE, error=f"HTTP {response.status}"
            )
            return
        page = ensure_encoding(response)
        sel = page.selector
        column_type = meta_content(sel, "ColumnType")
        meta_name = meta_content(sel, "ColumnName")
        if meta_name:
            col = ColumnRef(col.url, meta_name, col.source)
        kind, rule = classify_column(
            name=col.name, url=col.url, column_type=column_type, rules=response.meta["rules"]
        )
        links = extract_links(sel, page.url)
        try:
            if kind == ColumnKind.INTERACTION:
                async for item in self.parse_board(sel, page.url, target, col, kind, rule, column_type):
                    yield item
            else:
                async for item in self.parse_list(page, target, col, kind, rule, column_type, links):
                    yield item
        except Exception as exc:  # a page shaped like nothing seen before: recorded, not a crash
            self.logger.exception("column %s could not be parsed", col.url)
            self.crawler.stats.inc_value("monitor/portal/parse_failed")
            yield self.column_item(
                tid,
                col,
                kind,
                rule,
                column_type,
                ColumnStatus.PARSE_FAILED,
                error=f"{type(exc).__name__}: {exc}",
            )
        for req in self.links.requests(links, found_on=page.url, target=target, depth=2):
            yield req

    async def parse_list(
        self,
        page: TextResponse,
        target: dict[str, Any],
        col: ColumnRef,
        kind: str,
        rule: str,
        column_type: str | None,
        links: list[str],
    ) -> AsyncIterator[Any]:
        tid = target["id"]
        rendered = bool(page.meta.get("playwright"))
        parsed = parse_column_page(page.selector, page.url, self.as_of)
        browser_error = None
        if parsed.needs_browser and not rendered:
            got = await self.fetch(page.url, playwright=True)
            rendered = True
            if isinstance(got, Response) and got.status < 400:
                parsed = parse_column_page(ensure_encoding(got).selector, page.url, self.as_of)
            else:
                browser_error = (
                    outcome_for_failure(got)[1] if isinstance(got, Failure) else f"HTTP {got.status}"
                )
            self.crawler.stats.inc_value("monitor/portal/rendered")
        entries = list(parsed.entries)
        pages = 1
        to_fetch = list(parsed.page_urls)
        next_url = parsed.next_url
        seen = {page.url}
        while pages < self.max_pages and (to_fetch or next_url):
            url = to_fetch.pop(0) if to_fetch else next_url
            next_url = None
            if url is None or url in seen:
                break
            seen.add(url)
            got = await self.fetch(url)
            if isinstance(got, Failure) or got.status >= 400:
                yield self.fetch_check(got, url, tid, found_on=page.url)
                break
            pages += 1
            if parsed.adapter == "hanweb":
                more = hanweb_entries(
                    got.text if isinstance(got, TextResponse) else got.body.decode("utf-8", "replace"),
                    page.url,
                    self.as_of,
                )
            else:
                sub = parse_column_page(ensure_encoding(got).selector, url, self.as_of)
                more, next_url = sub.entries, (sub.next_url if not to_fetch else None)
            entries.extend(more)
        unique: dict[str, ListEntry] = {}
        for e in entries:
            unique.setdefault(e.url, e)
        entries = list(unique.values())
        links.extend(
            e.url for e in entries
        )  # script- and datastore-built lists hide their links from the DOM
        # Undated rows: the article page's PubDate meta or its visible 发布日期; a few articles also
        # give the links one level deeper for the dead-link check.
        undated = [e for e in entries if e.published_at is None][: self.article_dates]
        deep = [e for e in entries if e.published_at is not None][: self.link_articles]
        for entry in undated + deep:
            if not is_internal(entry.url, page.meta.get("root") or site_root(target["url"])):
                continue
            got = await self.fetch(entry.url)
            if isinstance(got, Failure) or got.status >= 400:
                continue
            art = ensure_encoding(got)
            if entry.published_at is None:
                entry.published_at, entry.date_source = parse_article_date(art.selector, self.as_of)
            if self.link_depth >= 3:
                for req in self.links.requests(
                    extract_links(art.selector, art.url), found_on=art.url, target=target, depth=3
                ):
                    yield req
        dated = [e.published_at for e in entries if e.published_at]
        if not parsed.found and not entries:
            status = ColumnStatus.BLANK if parsed.empty_marker else ColumnStatus.PARSE_FAILED
        else:
            status = ColumnStatus.OK if entries else ColumnStatus.BLANK
        if status == ColumnStatus.PARSE_FAILED:
            self.crawler.stats.inc_value("monitor/portal/parse_failed")
        yield self.column_item(
            tid,
            col,
            kind,
            rule,
            column_type,
            status,
            item_count=len(entries),
            undated_count=len(entries) - len(dated),
            newest_item_at=iso(max(dated)) if dated else None,
            pages_followed=pages,
            rendered=int(rendered),
            error=None
            if status != ColumnStatus.PARSE_FAILED
            else f"list written by script; rendering failed: {browser_error}"
            if browser_error
            else f"no list found by the {parsed.adapter} adapter",
        )
        for e in entries:
            yield ColumnEntryItem(
                target_id=tid,
                column_url=col.url,
                url=e.url,
                title=e.title,
                published_at=iso(e.published_at) if e.published_at else None,
                date_source=e.date_source if e.published_at else "none",
            )

    async def parse_board(
        self,
        sel: Selector,
        url: str,
        target: dict[str, Any],
        col: ColumnRef,
        kind: str,
        rule: str,
        column_type: str | None,
    ) -> AsyncIterator[Any]:
        tid = target["id"]
        board_kind = classify_board(col.name, col.url, column_type)
        rows = parse_message_list(sel, url, self.as_of)
        pages, next_url = 1, next_page_url(sel, url)
        while next_url and pages < self.max_pages:
            got = await self.fetch(next_url)
            if isinstance(got, Failure) or got.status >= 400:
                break
            pages += 1
            more_sel = ensure_encoding(got).selector
            rows.extend(parse_message_list(more_sel, next_url, self.as_of))
            next_url = next_page_url(more_sel, next_url)
        messages = []
        for row in rows[: self.max_messages]:
            got = await self.fetch(row.url)
            detail = (
                parse_message_detail(ensure_encoding(got).selector)
                if isinstance(got, Response) and got.status < 400
                else {}
            )
            messages.append(
                build_message(
                    row, detail, target_id=tid, board_url=col.url, board_kind=board_kind, as_of=self.as_of
                )
            )
        asked = [m.asked_at for m in messages if m.asked_at]
        found = bool(rows) or bool(EMPTY_TEXT.search(" ".join(sel.xpath("//body//text()").getall())))
        status = ColumnStatus.OK if rows else ColumnStatus.BLANK if found else ColumnStatus.PARSE_FAILED
        yield self.column_item(
            tid,
            col,
            kind,
            rule,
            column_type,
            status,
            item_count=len(rows),
            undated_count=len(messages) - len(asked),
            newest_item_at=max(asked) if asked else None,
            pages_followed=pages,
            rendered=0,
            error=None if status != ColumnStatus.PARSE_FAILED else "no message list found",
        )
        for message in messages:
            yield message

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

    def fetch_check(self, got: Response | Failure, url: str, tid: int, *, found_on: str) -> CheckItem:
        if isinstance(got, Failure):
            outcome, error = outcome_for_failure(got)
            return CheckItem(
                kind=CheckKind.COLUMN,
                url=url,
                outcome=outcome,
                target_id=tid,
                error=error,
                found_on=found_on,
                checked_at=now_iso(),
            )
        return CheckItem(
            kind=CheckKind.COLUMN,
            url=url,
            final_url=got.url,
            outcome=outcome_for_status(got.status),
            target_id=tid,
            http_status=got.status,
            found_on=found_on,
            checked_at=now_iso(),
        )
