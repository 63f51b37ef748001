"""The WeChat spider: how each target's articles are listed (its mode), and the callbacks for each mode."""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, cast
from urllib.parse import urljoin, urlsplit

import scrapy
from parsel import Selector
from scrapy.http import Response
from twisted.python.failure import Failure

from core.clock import now_iso
from core.enums import AccountStatus, CheckKind, CheckOutcome, PostKind, WechatMode
from core.items import AccountItem, AccountSeenItem, CheckItem, PostItem
from spiders import fields
from spiders.answers import read_json
from spiders.base import MonitorSpider, SourceError
from spiders.charset import response_text
from spiders.pagestate import PageState, classify_page_state
from spiders.wechat import sogou
from spiders.wechat.article import article_to_account, article_to_post, parse_article_page, url_post_id
from spiders.wechat.history import entry_to_post, history_url, next_history_url, parse_history_page
from spiders.wechat.mp import (
    PAGE_SIZE,
    SESSION_PARAMS,
    listed_to_post,
    parse_publish_page,
    publish_list_url,
    redact,
)
from spiders.wechat.scripts import url_query

MODES = tuple(m.value for m in WechatMode)
# A __biz: the base64 of the account's numeric id (MzA4ODUzNjAxOA==).
BIZ = re.compile(r"Mz[A-Za-z0-9+/]{6,}={0,2}")
# The run flag a refused MP session sets (spiders.base.RunFlags).
MP_REFUSAL = "wechat_mp_refusal"


def joined(base: str, href: str) -> str | None:
    """``href`` made absolute, or None when it cannot be (a page may link to http://[::1)."""
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def wechat_mode(target: dict[str, Any]) -> str:
    """How a target's articles are listed: options.mode, else what the target gives."""
    options = target.get("options") or {}
    mode = str(options.get("mode") or "").lower()
    if mode in MODES:
        return mode
    if target.get("feed_url"):
        return "feed"  # the feed spider reads it, never this one
    if options.get("fakeid"):
        return "mp"
    if options.get("article_urls"):
        return "urls"
    if options.get("history_url"):
        return "history"
    if options.get("list_url") or (target.get("render") == "js" and target.get("url")):
        return "page"
    return "sogou"


class WechatSpider(MonitorSpider):
    """WeChat targets by mode: mp (login token), urls (article URLs), sogou (no login), page (list page),
    history (the account's msgList history page). docs/wechat.md says what each reads."""

    name = "wechat"
    platforms: ClassVar[tuple[str, ...]] = ("wechat",)
    uses_browser: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mp_base = "https://mp.weixin.qq.com"
        self.sogou_base = "https://weixin.sogou.com"
        self.max_pages = 10
        self.fetch_articles = True
        # Credentials only from the environment: never settings, never stored, masked in logs.
        self.token = os.environ.get("MONITOR_WECHAT_TOKEN", "").strip()
        self.cookie = os.environ.get("MONITOR_WECHAT_COOKIE", "").strip()
        # MP listings: how many may await their first answer at once (set in from_crawler), how many
        # do, the targets held back meanwhile, and the session's refusal that stops those.
        self.mp_parallel = 1
        self.mp_in_flight = 0
        self.mp_held: deque[dict[str, Any]] = deque()
        # Session values inside history URLs (a WeChat client's key, pass_ticket…): masked like the token.
        self.url_secrets: set[str] = set()

    @property
    def mp_refusal(self) -> str | None:
        """Why the MP session was refused in this run (by this process or another worker), or None."""
        return self.flags.get(MP_REFUSAL)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> WechatSpider:
        spider = cast(WechatSpider, super().from_crawler(crawler, *args, **kwargs))
        s = crawler.settings
        spider.mp_base = s.get("MONITOR_WECHAT_MP_BASE", spider.mp_base).rstrip("/")
        spider.sogou_base = s.get("MONITOR_SOGOU_BASE", spider.sogou_base).rstrip("/")
        spider.max_pages = s.getint("MONITOR_LIST_MAX_PAGES", 10)
        spider.fetch_articles = s.getbool("MONITOR_WECHAT_FETCH_ARTICLES", True)
        # As many MP listings start at once as the downloader sends to the MP host at once: holding the
        # others back costs no time, and lets frequency control stop them before they are sent.
        slot = s.getdict("DOWNLOAD_SLOTS").get(urlsplit(spider.mp_base).hostname) or {}
        spider.mp_parallel = max(1, int(slot.get("concurrency", s.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))))
        return spider

    def select_targets(self, db: Any) -> list[dict[str, Any]]:
        # A WeChat target with a feed is the feed spider's: each target is crawled by exactly one spider.
        return [t for t in super().select_targets(db) if wechat_mode(t) != "feed"]

    def start_target(self, target: dict[str, Any]) -> Iterator[Any]:
        mode = wechat_mode(target)
        if mode == "mp":
            yield from self.start_mp(target)
        elif mode == "urls":
            yield from self.start_article_urls(target)
        elif mode == "page":
            yield from self.start_list_page(target)
        elif mode == "history":
            yield from self.start_history(target)
        else:
            yield from self.start_sogou(target)

    # --- mode mp ------------------------------------------------------------------------------

    def mp_base_of(self, target: dict[str, Any]) -> str:
        return str((target.get("options") or {}).get("mp_base") or self.mp_base).rstrip("/")

    def mp_url(self, target: dict[str, Any], begin: int) -> str:
        fakeid = (target.get("options") or {})["fakeid"]
        return publish_list_url(self.mp_base_of(target), fakeid=fakeid, begin=begin, token=self.token)

    def start_mp(self, target: dict[str, Any]) -> Iterator[Any]:
        if not (self.token and self.cookie):
            self.logger.error(
                "WeChat target %s uses the MP list endpoint but MONITOR_WECHAT_TOKEN / "
                "MONITOR_WECHAT_COOKIE are not set in the environment",
                target["id"],
            )
            yield self.unsent_mp_check(
                target,
                CheckOutcome.NO_CREDENTIALS,
                "MONITOR_WECHAT_TOKEN and MONITOR_WECHAT_COOKIE must be set for mode mp",
            )
        elif self.mp_refusal is not None:
            yield self.refused_mp_check(target)
        elif self.mp_in_flight < self.mp_parallel:
            self.mp_in_flight += 1
            yield self.mp_request(target, 0)
        else:
            self.mp_held.append(target)

    def start_held_mp(self) -> Iterator[Any]:
        """A listing's first answer is in: start the next one held back, or, once the session is
        refused, none: each held target gets the refusal as its check instead of a request."""
        self.mp_in_flight -= 1
        while self.mp_held and (self.mp_refusal is not None or self.mp_in_flight < self.mp_parallel):
            target = self.mp_held.popleft()
            if self.mp_refusal is not None:
                yield self.refused_mp_check(target)
            else:
                self.mp_in_flight += 1
                yield self.mp_request(target, 0)

    def unsent_mp_check(self, target: dict[str, Any], outcome: CheckOutcome, error: str) -> CheckItem:
        return CheckItem(
            kind=CheckKind.API,
            url=redact(self.mp_url(target, 0)),
            outcome=outcome,
            target_id=target["id"],
            error=error,
            checked_at=now_iso(),
        )

    def refused_mp_check(self, target: dict[str, Any]) -> CheckItem:
        self.count_blocked(target["id"])
        return self.unsent_mp_check(target, CheckOutcome.BLOCKED, f"not requested: {self.mp_refusal}")

    def mp_request(self, target: dict[str, Any], begin: int) -> scrapy.Request:
        return self.target_request(
            self.mp_url(target, begin),
            target,
            self.parse_mp_list,
            kind=CheckKind.API,
            conditional=begin == 0,
            headers={
                "Cookie": self.cookie,
                "Referer": f"{self.mp_base_of(target)}/",
                "X-Requested-With": "XMLHttpRequest",
            },
            errback=self.on_mp_error,
            begin=begin,
            dont_merge_cookies=True,
        )

    def parse_mp_list(self, response: Response) -> Iterator[Any]:
        yield from self.read_mp_list(response)
        if response.meta["begin"] == 0:
            yield from self.start_held_mp()

    def on_mp_error(self, failure: Failure) -> Iterator[Any]:
        yield from self.on_error(failure)
        if failure.request.meta["begin"] == 0:  # type: ignore[attr-defined]
            yield from self.start_held_mp()

    def read_mp_list(self, response: Response) -> Iterator[Any]:
        target, begin = response.meta["target"], response.meta["begin"]
        tid = target["id"]
        early = self.preamble(response)
        if early is not None:
            yield from early
            return
        try:
            page = parse_publish_page(read_json(response))
        except SourceError as exc:
            outcome, reason = exc.outcome, exc.reason
            if outcome == CheckOutcome.NO_CREDENTIALS:
                self.logger.error(
                    "WeChat MP session expired: renew MONITOR_WECHAT_TOKEN / MONITOR_WECHAT_COOKIE"
                )
            elif outcome == CheckOutcome.BLOCKED and self.mp_refusal is None:
                # Frequency control throttles the session, not the account: a further listing would be
                # refused too, and prolong it. Listings already started go on; their next answer, refused
                # as well, ends them. Every worker of a distributed crawl shares the session: all stop.
                self.logger.warning("WeChat %s: no further MP listings start in this run", reason)
                self.flags.set(MP_REFUSAL, reason)
            yield self.check(response, outcome=outcome, error=reason)
            return
        yield self.check(response)
        fakeid = target["options"]["fakeid"]
        reached_known = False
        for item in page.articles:
            post = listed_to_post(item, fakeid=fakeid, target_id=tid)
            if self.is_known(tid, post.post_id):
                reached_known = True
                break
            yield self.new_post(post)
            if self.fetch_articles and item.link and not item.is_deleted:
                yield self.target_request(
                    item.link, target, self.parse_article, kind=CheckKind.ARTICLE, listed=post
                )
        if begin == 0:
            yield AccountItem(target_id=tid, status=AccountStatus.ACTIVE, name=target["name"])
        more = begin + PAGE_SIZE < page.total and len(page.articles) > 0
        if not reached_known and more and begin // PAGE_SIZE + 1 < self.max_pages:
            yield self.mp_request(target, begin + PAGE_SIZE)
        if begin == 0:
            v = self.validator_item(response, key=response.meta["validator_key"], target_id=tid)
            if v:
                yield v

    # --- modes urls and page ----------------------------------------------------------------------

    def start_article_urls(self, target: dict[str, Any]) -> Iterator[Any]:
        tid = target["id"]
        urls = [str(u) for u in (target.get("options") or {}).get("article_urls") or []]
        fresh = [u for u in urls if not self.is_known(tid, url_post_id(u) or u)]
        if fresh:
            for url in fresh:
                yield self.target_request(
                    url, target, self.parse_article, kind=CheckKind.ARTICLE, conditional=True
                )
        elif urls:
            # Everything is stored: one conditional request on the newest URL says the account is alive.
            yield self.target_request(
                urls[0], target, self.parse_article, kind=CheckKind.ARTICLE, conditional=True
            )

    def start_list_page(self, target: dict[str, Any]) -> Iterator[Any]:
        url = str((target.get("options") or {}).get("list_url") or target.get("url"))
        yield self.target_request(url, target, self.parse_list_page, kind=CheckKind.LISTING, conditional=True)

    def parse_list_page(self, response: Response) -> Iterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        early = self.preamble(response)
        if early is not None:
            yield from early
            return
        links = [
            u
            for h in Selector(text=response_text(response)).css("a::attr(href)").getall()
            if ("/s?" in h or "/s/" in h) and (u := joined(response.url, h))
        ]
        if not links:
            state = classify_page_state(response_text(response), response.url)
            outcome = state.outcome if state else CheckOutcome.MALFORMED
            yield self.check(response, outcome=outcome, error=state.reason if state else "no article links")
            return
        yield self.check(response)
        fresh = [u for u in dict.fromkeys(links) if not self.is_known(tid, url_post_id(u) or u)]
        for url in fresh:
            yield self.target_request(url, target, self.parse_article, kind=CheckKind.ARTICLE)
        if not fresh:
            yield AccountSeenItem(target_id=tid)

    def parse_article(self, response: Response) -> Iterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        listed: PostItem | None = response.meta.get("listed")
        early = self.preamble(response)
        if early is not None:
            yield from early
            return
        # Decoded by evidence: a page in GBK under charset=utf-8 (or the reverse) reads right.
        result = parse_article_page(response_text(response), response.url)
        if isinstance(result, PageState):
            self.crawler.stats.inc_value(f"monitor/wechat/{result.outcome}")  # type: ignore[union-attr]
            yield self.check(response, outcome=result.outcome, error=result.reason)
            if result.account_status is not None:
                yield AccountItem(
                    target_id=tid,
                    status=result.account_status,
                    status_reason=result.reason + (f" -> {result.link}" if result.link else ""),
                    evidence_url=response.url,
                )
            return
        yield self.check(response)
        post = article_to_post(result, target_id=tid)
        if listed is not None:
            # The list's identity wins (the page may be reached through a redirect or short link); a
            # kind the list names stands unless the page names one itself.
            post.post_id, post.published_at = listed.post_id, post.published_at or listed.published_at
            if post.kind == PostKind.ARTICLE and listed.kind:
                post.kind = listed.kind
        yield self.new_post(post)
        if listed is None:
            yield article_to_account(result, target_id=tid, name=target["name"])
        key = response.meta.get("validator_key")
        if key:
            v = self.validator_item(response, key=key, target_id=tid)
            if v:
                yield v

    # --- mode sogou -------------------------------------------------------------------------------

    def sogou_url(self, target: dict[str, Any], search: Callable[[str, str], str]) -> str:
        options = target.get("options") or {}
        base = str(options.get("sogou_base") or self.sogou_base).rstrip("/")
        return search(base, str(options.get("sogou_query") or target["name"]))

    def start_sogou(self, target: dict[str, Any]) -> Iterator[Any]:
        if fields.as_int((target.get("options") or {}).get("sogou_type")) == 2:
            yield self.sogou_articles_request(target, after_accounts=False)
            return
        url = self.sogou_url(target, sogou.account_search_url)
        yield self.target_request(url, target, self.parse_sogou, kind=CheckKind.LISTING, conditional=True)

    def sogou_articles_request(self, target: dict[str, Any], *, after_accounts: bool) -> scrapy.Request:
        url = self.sogou_url(target, sogou.article_search_url)
        return self.target_request(
            url,
            target,
            self.parse_sogou_articles,
            kind=CheckKind.LISTING,
            conditional=not after_accounts,
            after_accounts=after_accounts,
        )

    def sogou_handles(self, target: dict[str, Any]) -> list[str]:
        """微信号 to look for: the target's handle, and the one its account was seen with."""
        stored = self.account_ids.get(target["id"], {}).get("wechat_id")
        return [h for h in ((target.get("handle") or "").strip(), stored or "") if h]

    def parse_sogou(self, response: Response) -> Iterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        early = self.preamble(response)
        if early is not None:
            yield from early
            return
        result = sogou.parse_sogou_accounts(response_text(response), response.url)
        if isinstance(result, PageState):
            self.crawler.stats.inc_value(f"monitor/wechat/sogou_{result.outcome}")  # type: ignore[union-attr]
            yield self.check(response, outcome=result.outcome, error=result.reason)
            return
        match = sogou.find_account(result, handle=self.sogou_handles(target), name=target["name"])
        if match is None:
            yield self.check(
                response,
                outcome=CheckOutcome.NOT_FOUND,
                error=f"no account {target['name']!r} in results; reading the article search",
            )
            # Not listed by name or 微信号: the article search may still show its articles.
            yield self.sogou_articles_request(target, after_accounts=False)
            return
        yield self.check(response)
        yield AccountItem(
            target_id=tid,
            status=AccountStatus.ACTIVE,
            name=match.name,
            description=match.description,
            verified=1 if match.verified_by else 0,
            verified_reason=match.verified_by,
            wechat_id=match.wechat_id,
        )
        post = sogou.latest_to_post(match, target_id=tid)
        if post is None:
            # Listed without a dated latest article: the article search dates its articles.
            yield self.sogou_articles_request(target, after_accounts=True)
        elif not self.is_known(tid, post.post_id):
            yield self.new_post(post)
        v = self.validator_item(response, key=response.meta["validator_key"], target_id=tid)
        if v:
            yield v

    def parse_sogou_articles(self, response: Response) -> Iterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        early = self.preamble(response)
        if early is not None:
            yield from early
            return
        result = sogou.parse_sogou_articles(response.text, response.url)
        if isinstance(result, PageState):
            self.crawler.stats.inc_value(f"monitor/wechat/sogou_{result.outcome}")  # type: ignore[union-attr]
            yield self.check(response, outcome=result.outcome, error=result.reason)
            return
        mine = sogou.articles_of(result, name=target["name"])
        posts = [p for p in (sogou.article_to_post(a, target_id=tid) for a in mine) if p is not None]
        if not posts:
            yield self.check(
                response,
                outcome=CheckOutcome.NOT_FOUND,
                error=f"no dated article by {target['name']!r} in the article search",
            )
            return
        yield self.check(response)
        if not response.meta.get("after_accounts"):
            yield AccountItem(target_id=tid, status=AccountStatus.ACTIVE, name=mine[0].account)
        fresh = [p for p in posts if not self.is_known(tid, p.post_id)]
        for post in fresh:
            yield self.new_post(post)
        if not fresh:
            yield AccountSeenItem(target_id=tid)
        key = response.meta.get("validator_key")
        v = self.validator_item(response, key=key, target_id=tid) if key else None
        if v:
            yield v

    # --- mode history -----------------------------------------------------------------------------

    def history_url_of(self, target: dict[str, Any]) -> str | None:
        options = target.get("options") or {}
        if options.get("history_url"):
            return str(options["history_url"])
        biz = str(options.get("biz") or target.get("handle") or "").strip()
        return history_url(self.mp_base_of(target), biz) if BIZ.fullmatch(biz) else None

    def start_history(self, target: dict[str, Any]) -> Iterator[Any]:
        url = self.history_url_of(target)
        if url is None:
            self.logger.error(
                "WeChat target %s uses mode history but has neither options.history_url nor a __biz "
                "(options.biz or handle)",
                target["id"],
            )
            return
        query = url_query(url)
        self.url_secrets |= {v for k in SESSION_PARAMS for v in query.get(k, []) if len(v) >= 6}
        yield self.target_request(
            url, target, self.parse_history, kind=CheckKind.LISTING, conditional=True, page=1
        )

    def parse_history(self, response: Response) -> Iterator[Any]:
        target, page_no = response.meta["target"], response.meta["page"]
        tid = target["id"]
        early = self.preamble(response)
        if early is not None:
            yield from early
            return
        page = parse_history_page(response.text, response.url)
        if isinstance(page, PageState):
            self.crawler.stats.inc_value(f"monitor/wechat/history_{page.outcome}")  # type: ignore[union-attr]
            if page.outcome == CheckOutcome.NO_CREDENTIALS:
                self.logger.error("WeChat target %s: %s (renew options.history_url)", tid, page.reason)
            yield self.check(response, outcome=page.outcome, error=page.reason)
            return
        yield self.check(response)
        if page_no == 1:
            yield AccountItem(
                target_id=tid,
                status=AccountStatus.ACTIVE,
                name=page.nickname or target["name"],
                gh_id=page.gh_id,
                wechat_id=page.wechat_id,
            )
        biz = page.biz or str((target.get("options") or {}).get("biz") or target.get("handle") or "") or None
        reached_known, new = False, 0
        for entry in page.entries:
            post = entry_to_post(entry, biz=biz, target_id=tid)
            if self.is_known(tid, post.post_id):
                reached_known = True  # stops the paging; the rest of this page costs nothing to read
                continue
            new += 1
            yield self.new_post(post)
            if self.fetch_articles and post.url:
                yield self.target_request(
                    post.url, target, self.parse_article, kind=CheckKind.ARTICLE, listed=post
                )
        following = next_history_url(response.url, page.next_offset) if page.next_offset else None
        if page.can_continue and following and not reached_known and page_no < self.max_pages:
            yield self.target_request(
                following, target, self.parse_history, kind=CheckKind.LISTING, page=page_no + 1
            )
        if page_no == 1:
            if not new:
                yield AccountSeenItem(target_id=tid)
            v = self.validator_item(response, key=response.meta["validator_key"], target_id=tid)
            if v:
                yield v

    def redact(self, url: str) -> str:
        return redact(url)

    def secrets(self) -> tuple[str, ...]:
        return (self.token, self.cookie, *sorted(self.url_secrets))
