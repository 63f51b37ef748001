"""One column as a job: its further pages, articles and messages fan out as requests and fan in to its rows.

The spider requests what a job asks for and hands every answer back to ``settle``; the job counts the
requests in flight, and when the last one settles its items are ready. Nothing here touches the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from scrapy.http import Response, TextResponse

from core.clock import iso, now_iso
from core.enums import AnswerState, CheckKind, ColumnKind, ColumnStatus
from core.items import ColumnEntryItem, ColumnItem, MessageItem
from detection.rules.freshness import months_before
from spiders.portal.boards import (
    BoardPager,
    MessageRow,
    board_labels,
    build_message,
    classify_board,
    is_board_empty,
    parse_message_detail,
    parse_message_list,
    read_board_pager,
    status_state,
)
from spiders.portal.columns import ColumnRef, ColumnRule, classify_column
from spiders.portal.links import extract_links, is_internal
from spiders.portal.lists import (
    ListEntry,
    hanweb_entries,
    parse_article_date,
    parse_column_page,
    parse_list_date,
)
from spiders.portal.meta import ensure_encoding, meta_content


class Step(StrEnum):
    """What a fetch of a job is for."""

    COLUMN = "column"  # the column's own page
    RENDER = "render"  # the same page through Chromium: its list is written by script
    PAGE = "page"  # a further list page whose URL the first one gave (TRS createPageHTML, Hanweb dataproxy)
    NEXT = "next"  # the 下一页 page, followed one after another
    ARTICLE = "article"  # a row's article: its PubDate, and its links for the dead-link check
    BOARD_PAGE = "board_page"  # a further page of a message board, followed one after another
    MESSAGE = "message"  # one message's page


@dataclass(frozen=True)
class Fetch:
    """A page a job waits for: the step that reads it, its position (page or row), where it was linked."""

    url: str
    step: Step
    index: int = 0
    found_on: str | None = None

    @property
    def kind(self) -> CheckKind:
        return CheckKind.PAGE if self.step in (Step.ARTICLE, Step.MESSAGE) else CheckKind.COLUMN


@dataclass(frozen=True)
class Limits:
    """Per-column caps: MONITOR_PORTAL_MAX_PAGES, _ARTICLE_DATES, _LINK_ARTICLES, _MAX_MESSAGES (message
    pages opened per board), MONITOR_BOARD_MAX_PAGES (list pages of one board)."""

    max_pages: int = 5
    article_dates: int = 30
    link_articles: int = 2
    max_messages: int = 50
    board_pages: int = 40


@dataclass(frozen=True)
class MessageHorizon:
    """How far back a board is read for the unanswered-message rule: messages asked before
    ``judge_before`` are old enough to count; list pages are followed until one shows a message asked
    before ``reach``."""

    judge_before: datetime
    reach: datetime


def message_horizon(
    settings: Mapping[str, Mapping[str, Any]], as_of: datetime, margin_days: float
) -> MessageHorizon:
    """The horizon from a target's resolved rules (portal.unanswered_message.months) and a margin."""
    limit = months_before(as_of, settings["portal.unanswered_message"]["months"])
    return MessageHorizon(limit, limit - timedelta(days=margin_days))


@dataclass(frozen=True)
class LinkBatch:
    """The links one page showed, for the dead-link check at that depth."""

    urls: list[str]
    found_on: str
    depth: int


@dataclass
class Advance:
    """What one answer leads to: the pages to fetch next and the links to check."""

    fetches: list[Fetch] = field(default_factory=list)
    links: list[LinkBatch] = field(default_factory=list)


class ColumnJob:
    """One column from its page to its rows (ColumnItem, then ColumnEntryItems or MessageItems).

    ``waiting`` holds the requests in flight, the column page from the start. A failed fetch loses only
    what that page would have shown; an exception while reading any page makes the column
    ``parse_failed`` and asks for nothing more. ``done`` once the last request has settled.
    """

    def __init__(
        self,
        *,
        target: dict[str, Any],
        col: ColumnRef,
        rules: Iterable[ColumnRule],
        root: str,
        limits: Limits,
        as_of: datetime,
        horizon: MessageHorizon | None = None,
        recheck: Sequence[MessageRow] = (),
    ) -> None:
        self.target, self.col, self.rules, self.root = target, col, tuple(rules), root
        self.limits, self.as_of, self.horizon = limits, as_of, horizon
        self.recheck = tuple(recheck)  # a board's messages an earlier run left open or unknown
        self.kind, self.rule = classify_column(name=col.name, url=col.url, column_type=None, rules=self.rules)
        self.column_type: str | None = None
        self.waiting: set[Fetch] = {self.first}
        self.unreachable: str | None = None  # why the column page itself gave nothing
        self.failure: Exception | None = None
        self.reader: ListReader | BoardReader | None = None

    @property
    def first(self) -> Fetch:
        return Fetch(self.col.url, Step.COLUMN)

    @property
    def done(self) -> bool:
        return not self.waiting

    def settle(self, fetch: Fetch, response: Response | None, error: str | None = None) -> Advance:
        """Record one answer: a response with content, or None and the error that stands for it."""
        self.waiting.remove(fetch)
        advance = Advance()
        if self.failure is None:
            try:
                page = ensure_encoding(response) if response is not None else None
                self._read(fetch, page, error, advance)
                if not self.waiting and not advance.fetches and self.reader is not None:
                    self.reader.fan_in(advance)
            except Exception as exc:  # a page shaped like nothing seen before: recorded, not a crash
                self.failure = exc
                advance.fetches.clear()
        self.waiting.update(advance.fetches)
        return advance

    def drop(self, fetch: Fetch) -> Advance:
        """A request that never left (a middleware dropped it): a further page or an article counts as
        failed; without the column page itself there is nothing to say about the column."""
        if fetch.step is Step.COLUMN:
            self.waiting.remove(fetch)
            return Advance()
        return self.settle(fetch, None, "dropped before download")

    def _read(self, fetch: Fetch, page: TextResponse | None, error: str | None, advance: Advance) -> None:
        if fetch.step is not Step.COLUMN:
            assert self.reader is not None
            self.reader.read(fetch, page, error, advance)
        elif page is None:
            self.unreachable = error or "no answer"
        else:
            sel = page.selector
            self.column_type = meta_content(sel, "ColumnType")
            name = meta_content(sel, "ColumnName")
            if name:
                self.col = ColumnRef(self.col.url, name, self.col.source)
            self.kind, self.rule = classify_column(
                name=self.col.name, url=self.col.url, column_type=self.column_type, rules=self.rules
            )
            advance.links.append(LinkBatch(extract_links(sel, page.url), page.url, 2))
            reader = (
                BoardReader(self, page) if self.kind == ColumnKind.INTERACTION else ListReader(self, page)
            )
            self.reader = reader
            reader.start(advance)

    def items(self) -> list[Any]:
        """The column and its rows once ``done``; nothing when the column page never came back."""
        if self.reader is None and self.unreachable is None and self.failure is None:
            return []
        if self.unreachable is not None:
            return [self.column_item(ColumnStatus.UNREACHABLE, error=self.unreachable)]
        if self.failure is None and self.reader is not None:
            try:
                return self.reader.items()
            except Exception as exc:
                self.failure = exc
        failure = self.failure
        return [self.column_item(ColumnStatus.PARSE_FAILED, error=f"{type(failure).__name__}: {failure}")]

    def column_item(self, status: str, **counts: Any) -> ColumnItem:
        return ColumnItem(
            target_id=self.target["id"],
            url=self.col.url,
            name=self.col.name,
            kind=self.kind,
            kind_rule=self.rule,
            column_type=self.column_type,
            source=self.col.source,
            status=status,
            checked_at=now_iso(),
            **counts,
        )


class ListReader:
    """A column list: its first page (through Chromium when script writes the list), further pages known up
    front fetched together or a 下一页 chain one page at a time, then the articles opened for a date or for
    their links, once every page is in."""

    def __init__(self, job: ColumnJob, page: TextResponse) -> None:
        self.job, self.url = job, page.url
        self.rendered = bool(page.meta.get("playwright"))
        self.browser_error: str | None = None
        self.parsed = parse_column_page(page.selector, page.url, job.as_of, job.limits.max_pages)
        self.pages: dict[int, list[ListEntry]] = {0: self.parsed.entries}  # page number -> its rows
        self.seen = {page.url}
        self.entries: list[ListEntry] | None = None  # every page's rows, once the pages are in
        self.date_failures = 0  # undated rows whose article page, opened for its date, failed

    def start(self, advance: Advance) -> None:
        if self.parsed.needs_browser and not self.rendered:
            advance.fetches.append(Fetch(self.url, Step.RENDER))
        else:
            self._request_pages(advance)

    def read(self, fetch: Fetch, page: TextResponse | None, error: str | None, advance: Advance) -> None:
        as_of = self.job.as_of
        if fetch.step is Step.RENDER:
            self.rendered = True
            if page is None:
                self.browser_error = error
            else:
                self.parsed = parse_column_page(page.selector, self.url, as_of, self.job.limits.max_pages)
                self.pages[0] = self.parsed.entries
            self._request_pages(advance)
        elif page is None:
            # A further page that failed shows no rows; an article that failed leaves its row undated,
            # which is not knowing its date, not knowing it is old.
            if fetch.step is Step.ARTICLE and self.entries and self.entries[fetch.index].published_at is None:
                self.date_failures += 1
            return
        elif fetch.step is Step.PAGE:
            if self.parsed.adapter == "hanweb":
                self.pages[fetch.index] = hanweb_entries(page.text, self.url, as_of)
            else:
                self.pages[fetch.index] = parse_column_page(page.selector, fetch.url, as_of).entries
        elif fetch.step is Step.NEXT:
            more = parse_column_page(page.selector, fetch.url, as_of)
            self.pages[fetch.index] = more.entries
            self._request_next(more.next_url, fetch.index + 1, advance)
        elif fetch.step is Step.ARTICLE:
            assert self.entries is not None
            entry = self.entries[fetch.index]
            if entry.published_at is None:
                entry.published_at, entry.date_source = parse_article_date(page.selector, as_of)
            advance.links.append(LinkBatch(extract_links(page.selector, page.url), page.url, 3))

    def _request_pages(self, advance: Advance) -> None:
        if not self.parsed.page_urls:
            self._request_next(self.parsed.next_url, 1, advance)
            return
        urls = [u for u in dict.fromkeys(self.parsed.page_urls) if u not in self.seen]
        urls = urls[: self.job.limits.max_pages - 1]
        self.seen.update(urls)
        advance.fetches.extend(Fetch(u, Step.PAGE, n, self.url) for n, u in enumerate(urls, 1))

    def _request_next(self, url: str | None, number: int, advance: Advance) -> None:
        if url and number < self.job.limits.max_pages and url not in self.seen:
            self.seen.add(url)
            advance.fetches.append(Fetch(url, Step.NEXT, number, self.url))

    def fan_in(self, advance: Advance) -> None:
        if self.entries is not None:
            return  # the articles are in too: the column is complete
        unique: dict[str, ListEntry] = {}
        for number in sorted(self.pages):  # page order, each URL once
            for entry in self.pages[number]:
                unique.setdefault(entry.url, entry)
        self.entries = entries = list(unique.values())
        # Script- and datastore-built lists hide their links from the DOM.
        advance.links.append(LinkBatch([e.url for e in entries], self.url, 2))
        limits = self.job.limits
        undated = [n for n, e in enumerate(entries) if e.published_at is None][: limits.article_dates]
        deep = [n for n, e in enumerate(entries) if e.published_at is not None][: limits.link_articles]
        advance.fetches.extend(
            Fetch(entries[n].url, Step.ARTICLE, n, self.url)
            for n in undated + deep
            if is_internal(entries[n].url, self.job.root)
        )

    def items(self) -> list[Any]:
        job, parsed = self.job, self.parsed
        entries = self.entries or []
        dated = [e.published_at for e in entries if e.published_at]
        if not parsed.found and not entries:
            status = ColumnStatus.BLANK if parsed.empty_marker else ColumnStatus.PARSE_FAILED
        else:
            status = ColumnStatus.OK if entries else ColumnStatus.BLANK
        error = None
        if status == ColumnStatus.OK and not dated and self.date_failures:
            # Nothing dated, and the pages that would have dated the rows did not answer: unread.
            status = ColumnStatus.UNREACHABLE
            error = f"no row dated: {self.date_failures} article page(s) opened for a date failed"
        if status == ColumnStatus.PARSE_FAILED:
            error = (
                f"list written by script; rendering failed: {self.browser_error}"
                if self.browser_error
                else f"no list found by the {parsed.adapter} adapter"
            )
        column = job.column_item(
            status,
            item_count=len(entries),
            undated_count=len(entries) - len(dated),
            newest_item_at=iso(max(dated)) if dated else None,
            pages_followed=len(self.pages),
            rendered=int(self.rendered),
            error=error,
        )
        return [
            column,
            *(
                ColumnEntryItem(
                    target_id=job.target["id"],
                    column_url=job.col.url,
                    url=e.url,
                    title=e.title,
                    published_at=iso(e.published_at) if e.published_at else None,
                    date_source=e.date_source if e.published_at else "none",
                )
                for e in entries
            ),
        ]


class BoardReader:
    """A message board: its list pages one after another until a page shows a message older than the
    horizon (or the page cap, or the last page), then the pages of the messages that matter, together.

    A list that shows no dates is dated by opening its page's last (oldest) message before the next page
    is asked for. Messages that matter: those an earlier run left open or unknown and the pages read no
    longer list (their own page says whether they were answered since), old enough to judge and not
    answered by their row (potential vetoes), undated ones, then old answered ones (was the answer
    late?), up to the message cap.
    """

    def __init__(self, job: ColumnJob, page: TextResponse) -> None:
        self.job = job
        sel = page.selector
        self.board_kind = classify_board(job.col.name, job.col.url, job.column_type, board_labels(sel))
        self.url = page.url
        self.says_empty = is_board_empty(sel)
        self.rows: list[MessageRow] = []
        self.pages = 1
        self.seen = {page.url}
        # why paging ended: end (the last page), reached (the horizon), cap (the page cap), failed (a page
        # did not come back), unfollowable (the board says it has more pages, and no link leads there)
        self.stop: str | None = None
        self.pages_said: int | None = None
        self.details: dict[int, dict[str, str]] = {}  # row -> its page's fields
        self.requested: set[int] = set()
        self.probe: tuple[int, str] | None = None  # (row whose page dates the list, the next page)
        self.fanned = False
        self.capped = 0  # messages that mattered but were past the message cap
        self.listed = 0  # rows the list pages showed; the rows after them are earlier runs' to re-check
        self._first = (parse_message_list(sel, page.url, job.as_of), read_board_pager(sel, page.url, 1))

    def start(self, advance: Advance) -> None:
        self._add_page(*self._first, advance)

    def read(self, fetch: Fetch, page: TextResponse | None, error: str | None, advance: Advance) -> None:
        as_of = self.job.as_of
        if fetch.step is Step.BOARD_PAGE:
            if page is None:
                self.stop = "failed"  # the older pages behind it are unread
                return
            self.pages += 1
            sel = page.selector
            self._add_page(
                parse_message_list(sel, fetch.url, as_of),
                read_board_pager(sel, fetch.url, self.pages),
                advance,
            )
        elif fetch.step is Step.MESSAGE:
            self.details[fetch.index] = parse_message_detail(page.selector) if page is not None else {}
            if self.probe is not None and self.probe[0] == fetch.index:
                _, next_url = self.probe
                self.probe = None
                self._follow(
                    parse_list_date(self.details[fetch.index].get("asked_at"), as_of), next_url, advance
                )

    def _add_page(self, rows: list[MessageRow], pager: BoardPager, advance: Advance) -> None:
        known = {r.url for r in self.rows}
        new = [r for r in rows if r.url not in known]  # a board that moved while paged repeats rows
        self.rows.extend(new)
        self.pages_said = max(self.pages_said or 0, pager.pages_said or 0) or None
        next_url = pager.next_url
        if not new or not next_url or next_url in self.seen:
            more = self.pages_said is not None and self.pages_said > self.pages
            self.stop = "unfollowable" if more else "end"
            return
        dated = [r.asked_at for r in new if r.asked_at is not None]
        if dated or self.job.horizon is None or len(self.requested) >= self.job.limits.max_messages:
            self._follow(min(dated) if dated else None, next_url, advance)
            return
        last = len(self.rows) - 1  # lists run newest first: the page's last row is its oldest
        self.probe = (last, next_url)
        self._request(last, advance)

    def _follow(self, oldest: datetime | None, next_url: str, advance: Advance) -> None:
        horizon = self.job.horizon
        if horizon is not None and oldest is not None and oldest < horizon.reach:
            self.stop = "reached"
        elif self.pages >= self.job.limits.board_pages:
            self.stop = "cap"
        else:
            self.seen.add(next_url)
            advance.fetches.append(Fetch(next_url, Step.BOARD_PAGE, self.pages, self.url))

    def _request(self, n: int, advance: Advance) -> None:
        self.requested.add(n)
        advance.fetches.append(Fetch(self.rows[n].url, Step.MESSAGE, n, self.url))

    def wanted(self) -> list[int]:
        """Rows whose page is worth opening, most telling first (see the class docstring)."""
        horizon, rows = self.job.horizon, self.rows
        again = [n for n in range(self.listed, len(rows)) if n not in self.requested]
        if horizon is None:  # nothing known about the rule: the rows in list order
            return [*again, *(n for n in range(self.listed) if n not in self.requested)]
        old_enough = horizon.judge_before + timedelta(days=1)  # list dates are days
        oldest_first = [n for n in reversed(range(self.listed)) if n not in self.requested]
        answered = {n for n in oldest_first if status_state(rows[n].status) is AnswerState.ANSWERED}
        old = [n for n in oldest_first if (at := rows[n].asked_at) is not None and at < old_enough]
        undated = [n for n in oldest_first if rows[n].asked_at is None]
        return [
            *again,
            *(n for n in old if n not in answered),
            *(n for n in undated if n not in answered),
            *(n for n in old if n in answered),
            *(n for n in undated if n in answered),
        ]

    def fan_in(self, advance: Advance) -> None:
        if self.fanned:
            return  # the messages are in: the board is complete
        self.fanned = True
        self.listed = len(self.rows)
        listed = {r.url for r in self.rows}
        self.rows += [r for r in self.job.recheck if r.url not in listed]
        wanted = self.wanted()
        room = max(self.job.limits.max_messages - len(self.requested), 0)
        self.capped = max(len(wanted) - room, 0)
        for n in wanted[:room]:
            self._request(n, advance)

    @property
    def truncated(self) -> bool:
        """Pages that could hold older messages were left unread: the page cap, a page that failed, or
        pages the board says it has and no link leads to."""
        return self.stop in ("cap", "failed", "unfollowable")

    def items(self) -> list[Any]:
        job = self.job
        listed = self.listed if self.fanned else len(self.rows)
        messages: list[MessageItem] = [
            build_message(
                row,
                self.details.get(n, {}),
                target_id=job.target["id"],
                board_url=job.col.url,
                board_kind=self.board_kind,
                as_of=job.as_of,
            )
            for n, row in enumerate(self.rows)
            # a message re-checked says something only when its page came back and was read
            if n < listed or self.details.get(n)
        ]
        asked = [m.asked_at for m in messages[:listed] if m.asked_at]
        if listed:
            status = ColumnStatus.OK
        else:
            status = ColumnStatus.BLANK if self.says_empty else ColumnStatus.PARSE_FAILED
        column = job.column_item(
            status,
            item_count=listed,
            undated_count=listed - len(asked),
            newest_item_at=max(asked) if asked else None,
            oldest_item_at=min(asked) if asked else None,
            pages_followed=self.pages,
            rendered=0,
            board_kind=self.board_kind,
            truncated=int(self.truncated),
            error=None if status != ColumnStatus.PARSE_FAILED else "no message list found",
        )
        return [column, *messages]
