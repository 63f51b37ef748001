"""WeChat official accounts: article pages, the MP platform's list endpoint, Sogou search, URL lists."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from typing import Any, ClassVar, cast
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import scrapy
from parsel import Selector
from scrapy.http import Response

from core.clock import now_iso
from core.dates import normalize_timestamp, parse_timestamp
from core.enums import AccountStatus, CheckKind, CheckOutcome
from core.items import AccountItem, AccountSeenItem, CheckItem, PostItem
from core.text import clean_text, summarize_html
from spiders.base import MonitorSpider, SourceError
from spiders.feed import REPOST_SOURCE
from spiders.pagestate import PageState, classify_page_state

# --- article pages (mp.weixin.qq.com/s?__biz=…&mid=…&idx=…&sn=…) ---------------------------------

_QUOTED = re.compile(r"""(["'])((?:\\.|(?!\1).)*)\1""")
# copyright_stat in list APIs and pages: 11 is 原创 to every crawler (observed), 101 转载.
ORIGINAL_STATS = {11}
REPOST_STATS = {100, 101}


def js_unescape(text: str) -> str:
    """Script strings write & as \\x26 (and then &amp;), quotes as \\x22."""
    text = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m[1], 16)), text)
    return unescape(text.replace("\\/", "/"))


def script_var(html: str, name: str) -> str | None:
    """First non-empty string of ``var NAME = "" || "x"`` (also ``window.NAME =``, ``htmlDecode("x")``)."""
    pattern = rf"(?:\bvar\s+|window\.){re.escape(name)}\s*=\s*([^\n]*?)(?:;(?=\s|$)|\n|$)"
    for m in re.finditer(pattern, html):
        for q in _QUOTED.finditer(m[1]):
            if q[2].strip():
                return js_unescape(q[2].strip())
    return None


@dataclass
class Article:
    url: str
    biz: str | None
    mid: str | None
    idx: str | None
    title: str | None
    nickname: str | None
    user_name: str | None  # gh_… id
    alias: str | None  # 微信号
    published_at: str | None
    time_source: str | None  # which page variable gave the time
    copyright_stat: int | None
    is_original: int | None
    author: str | None
    text: str
    text_length: int
    image_count: int
    video_count: int
    item_show_type: int | None
    repost_source: str | None
    source_url: str | None
    ip_wording: str | None
    permalink: str | None

    @property
    def post_id(self) -> str:
        if self.biz and self.mid:
            return f"{self.biz}_{self.mid}_{self.idx or 1}"
        return self.permalink or self.url


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def is_article_page(sel: Selector, html: str) -> bool:
    return bool(sel.css("#js_content")) and bool(
        sel.css("#activity-name") or script_var(html, "msg_title") or sel.css("meta[property='og:title']")
    )


def parse_article_page(html: str, url: str) -> Article | PageState:
    """An article, or the state the page shows (deleted, banned, migrated, cancelled, verification…)."""
    sel = Selector(text=html)
    if not is_article_page(sel, html):
        visible = " ".join(sel.xpath("//body//text()[not(ancestor::script)]").getall())
        scripts = " ".join(sel.css("script::text").getall())
        state = classify_page_state(f"{visible}\n{scripts}", url)
        if state is None:
            page_title = clean_text(sel.css("title::text").get())
            return PageState(CheckOutcome.MALFORMED, None, f"not an article page (title {page_title!r})")
        return state
    query = parse_qs(urlsplit(url).query)

    def from_url(key: str) -> str | None:
        return query.get(key, [None])[0]

    title: str | None = (
        clean_text(" ".join(sel.css("#activity-name ::text").getall()))
        or script_var(html, "msg_title")
        or sel.css("meta[property='og:title']::attr(content)").get()
    )
    nickname: str | None = (
        script_var(html, "nickname")
        or clean_text(" ".join(sel.css("#js_name ::text").getall()))
        or sel.css(".wx_follow_nickname::text").get()
        or sel.css("strong.profile_nickname::text").get()
    )
    published, source = None, None
    for var in ("ct", "create_time", "publish_time"):
        value = script_var(html, var)
        if value and parse_timestamp(value):
            published, source = normalize_timestamp(value), var
            break
    if published is None:
        visible = clean_text(" ".join(sel.css("#publish_time::text, #post-date::text").getall()))
        if visible and parse_timestamp(visible):
            published, source = normalize_timestamp(visible), "visible"
    stat = _int(script_var(html, "copyright_stat") or script_var(html, "_copyright_stat"))
    has_logo = bool(sel.css("#copyright_logo"))
    is_original = 1 if (stat in ORIGINAL_STATS or has_logo) else (0 if stat is not None else None)
    content = sel.css("#js_content")
    text, _, _ = summarize_html(content.get() or "")
    images = len(content.css("img[data-src], img[src]"))
    videos = len(content.css("iframe.video_iframe, iframe[data-src*='v.qq.com'], mpvideo, video, mp-video"))
    source_url = script_var(html, "msg_source_url") or script_var(html, "source_url")
    repost_match = REPOST_SOURCE.match(text)
    repost_source = script_var(html, "source_nickname") or (repost_match["src"] if repost_match else None)
    if repost_source is None and source_url:
        repost_source = source_url
    if stat in REPOST_STATS and repost_source is None:
        repost_source = "转载"
    ip = re.search(r"provinceName\s*:\s*['\"]([^'\"]+)['\"]", html)
    alias = sel.xpath(
        "//label[contains(@class,'profile_meta_label')][contains(.,'微信号')]"
        "/following-sibling::span[1]/text()"
    ).get()
    author = (
        script_var(html, "author")
        or sel.css("meta[name='author']::attr(content)").get()
        or sel.css("#js_author_name::text").get()
    )
    return Article(
        url=url,
        biz=script_var(html, "biz") or script_var(html, "appuin") or from_url("__biz"),
        mid=script_var(html, "mid") or script_var(html, "appmsgid") or from_url("mid"),
        idx=script_var(html, "idx") or script_var(html, "itemidx") or from_url("idx"),
        title=clean_text(title) or None,
        nickname=clean_text(nickname) or None,
        user_name=script_var(html, "user_name"),
        alias=alias.strip() if alias else None,
        published_at=published,
        time_source=source,
        copyright_stat=stat,
        is_original=is_original,
        author=clean_text(author) or None,
        text=text,
        text_length=len(text.replace("\n", "").replace(" ", "")),
        image_count=images,
        video_count=videos,
        item_show_type=_int(script_var(html, "item_show_type")),
        repost_source=repost_source,
        source_url=source_url,
        ip_wording=ip[1] if ip else None,
        permalink=script_var(html, "msg_link"),
    )


SHOW_TYPES = {0: "article", 5: "video", 7: "audio", 8: "image", 10: "text"}


def article_to_post(article: Article, *, target_id: int) -> PostItem:
    return PostItem(
        target_id=target_id,
        platform="wechat",
        post_id=article.post_id,
        url=article.permalink or article.url,
        title=article.title,
        text=article.text,
        author=article.author,
        published_at=article.published_at,
        kind=SHOW_TYPES.get(article.item_show_type or 0, "article"),
        is_original=article.is_original,
        is_repost=1 if article.repost_source else 0,
        repost_source=article.repost_source,
        image_count=article.image_count,
        video_count=article.video_count,
    )


# --- the MP platform list endpoint (/cgi-bin/appmsgpublish) ---------------------------------------


MP_ERRORS = {
    200013: (CheckOutcome.BLOCKED, "MP frequency control (base_resp.ret 200013): back off"),
    # Our MP session, not the account: a crawler-side problem.
    200003: (
        CheckOutcome.NO_CREDENTIALS,
        "MP session expired (base_resp.ret 200003): renew MONITOR_WECHAT_TOKEN / MONITOR_WECHAT_COOKIE",
    ),
    200002: (
        CheckOutcome.HTTP_ERROR,
        "MP invalid argument (base_resp.ret 200002; seen for migrated accounts)",
    ),
}


@dataclass
class ListedArticle:
    appmsgid: str
    itemidx: str
    title: str | None
    digest: str | None
    link: str | None
    create_time: str | None
    copyright_stat: int | None
    item_show_type: int | None
    is_deleted: bool


@dataclass
class PublishPage:
    total: int
    articles: list[ListedArticle] = field(default_factory=list)


def parse_publish_page(data: Any) -> PublishPage:
    """The appmsgpublish answer: publish_page is a JSON string, and each publish_info inside it again."""
    if not isinstance(data, dict):
        raise SourceError(CheckOutcome.MALFORMED, "MP answer is not a JSON object")
    ret = _int((data.get("base_resp") or {}).get("ret"))
    if ret in MP_ERRORS:
        raise SourceError(*MP_ERRORS[ret])
    if ret != 0:
        raise SourceError(CheckOutcome.MALFORMED, f"MP base_resp.ret {ret}: {data.get('base_resp')}")
    try:
        page = (
            json.loads(data["publish_page"])
            if isinstance(data["publish_page"], str)
            else data["publish_page"]
        )
        articles = []
        for entry in page.get("publish_list", []):
            info = entry.get("publish_info") or "{}"
            info = json.loads(info) if isinstance(info, str) else info
            for a in info.get("appmsgex", []):
                articles.append(
                    ListedArticle(
                        appmsgid=str(a.get("appmsgid") or a.get("aid", "").split("_")[0]),
                        itemidx=str(a.get("itemidx") or 1),
                        title=a.get("title"),
                        digest=a.get("digest"),
                        link=js_unescape(a["link"]) if a.get("link") else None,
                        create_time=normalize_timestamp(a.get("create_time")),
                        copyright_stat=_int(a.get("copyright_stat")),
                        item_show_type=_int(a.get("item_show_type")),
                        is_deleted=bool(a.get("is_deleted")),
                    )
                )
        return PublishPage(total=_int(page.get("total_count")) or 0, articles=articles)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SourceError(
            CheckOutcome.MALFORMED, f"MP publish_page not in the expected shape: {exc}"
        ) from exc


def listed_to_post(item: ListedArticle, *, fakeid: str, target_id: int) -> PostItem:
    stat = item.copyright_stat
    return PostItem(
        target_id=target_id,
        platform="wechat",
        post_id=f"{fakeid}_{item.appmsgid}_{item.itemidx}",
        url=item.link,
        title=item.title,
        text=item.digest,
        published_at=item.create_time,
        kind=SHOW_TYPES.get(item.item_show_type or 0, "article"),
        is_original=1 if stat in ORIGINAL_STATS else (0 if stat is not None else None),
        is_repost=1 if stat in REPOST_STATS else (0 if stat is not None else None),
    )


# --- Sogou WeChat search (weixin.sogou.com/weixin?type=1&query=NAME) ------------------------------


@dataclass
class SogouAccount:
    name: str
    wechat_id: str | None
    description: str | None
    verified_by: str | None
    latest_title: str | None
    latest_at: str | None


def parse_sogou_accounts(html: str, url: str) -> list[SogouAccount] | PageState:
    """Account results, or a blocked state for the anti-spider interstitial (never "no results")."""
    sel = Selector(text=html)
    if "antispider" in url or sel.css("#seccodeForm, #seccodeInput"):
        return PageState(CheckOutcome.BLOCKED, None, "Sogou anti-spider verification page")
    items = sel.css("ul.news-list2 > li")
    if not items:
        state = classify_page_state(html, url)
        if state:
            return state
        if sel.css("#noresult_part1_container") or "暂无与" in html:
            return []
        return PageState(CheckOutcome.MALFORMED, None, "no ul.news-list2 in the Sogou answer")
    accounts = []
    for li in items:

        def dd_after(label: str, li: Selector = li) -> Any:
            return li.xpath(f".//dl[dt[contains(., '{label}')]]/dd")

        ts = re.search(r"timeConvert\('(\d+)'\)", dd_after("最近文章").get() or "")
        accounts.append(
            SogouAccount(
                name=clean_text(" ".join(li.css(".txt-box p.tit a ::text").getall())),
                wechat_id=(li.css("label[name=em_weixinhao]::text").get() or "").strip() or None,
                description=clean_text(" ".join(dd_after("功能介绍").css("::text").getall())) or None,
                verified_by=clean_text(" ".join(dd_after("认证").css("::text").getall())) or None,
                latest_title=clean_text(" ".join(dd_after("最近文章").css("a ::text").getall())) or None,
                latest_at=normalize_timestamp(ts[1]) if ts else None,
            )
        )
    return accounts


# --- the spider -----------------------------------------------------------------------------------

MODES = ("mp", "urls", "sogou", "page", "feed")


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
    if options.get("list_url") or (target.get("render") == "js" and target.get("url")):
        return "page"
    return "sogou"


def url_post_id(url: str) -> str | None:
    """biz_mid_idx from an article URL's query (None for short /s/<token> links)."""
    query = parse_qs(urlsplit(js_unescape(url)).query)
    biz, mid = query.get("__biz", [""])[0], query.get("mid", [""])[0]
    return f"{biz}_{mid}_{query.get('idx', ['1'])[0]}" if biz and mid else None


def redact(url: str) -> str:
    """The URL without its session token: what is logged, stored and used as the validator key."""
    parts = urlsplit(url)
    query = [(k, v) for k, vs in parse_qs(parts.query, keep_blank_values=True).items() for v in vs]
    clean = [(k, v) for k, v in query if k not in ("token", "pass_ticket", "key", "appmsg_token")]
    return urlunsplit(parts._replace(query=urlencode(clean)))


class WechatSpider(MonitorSpider):
    """WeChat targets by mode: mp (login token), urls (article URLs), sogou (no login), page (list page)."""

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

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> WechatSpider:
        spider = cast(WechatSpider, super().from_crawler(crawler, *args, **kwargs))
        s = crawler.settings
        spider.mp_base = s.get("MONITOR_WECHAT_MP_BASE", spider.mp_base).rstrip("/")
        spider.sogou_base = s.get("MONITOR_SOGOU_BASE", spider.sogou_base).rstrip("/")
        spider.max_pages = s.getint("MONITOR_LIST_MAX_PAGES", 10)
        spider.fetch_articles = s.getbool("MONITOR_WECHAT_FETCH_ARTICLES", True)
        return spider

    def select_targets(self, db: Any) -> list[dict[str, Any]]:
        # A WeChat target with a feed is the feed spider's: each target is crawled by exactly one spider.
        return [t for t in super().select_targets(db) if wechat_mode(t) != "feed"]

    def start_target(self, target: dict[str, Any]) -> Iterator[Any]:
        mode, options = wechat_mode(target), target.get("options") or {}
        if mode == "mp":
            yield from self.start_mp(target, options)
        elif mode == "urls":
            yield from self.start_article_urls(target, [str(u) for u in options.get("article_urls") or []])
        elif mode == "page":
            url = str(options.get("list_url") or target.get("url"))
            yield self.target_request(
                url, target, self.parse_list_page, kind=CheckKind.LISTING, conditional=True
            )
        else:
            base = str(options.get("sogou_base") or self.sogou_base).rstrip("/")
            query = options.get("sogou_query") or target["name"]
            url = f"{base}/weixin?{urlencode({'type': 1, 'query': query, 'ie': 'utf8'})}"
            yield self.target_request(url, target, self.parse_sogou, kind=CheckKind.LISTING, conditional=True)

    # --- mode mp ------------------------------------------------------------------------------

    def mp_url(self, target: dict[str, Any], begin: int) -> str:
        options = target.get("options") or {}
        base = str(options.get("mp_base") or self.mp_base).rstrip("/")
        query = {
            "sub": "list",
            "begin": begin,
            "count": 5,
            "fakeid": options["fakeid"],
            "token": self.token,
            "lang": "zh_CN",
            "f": "json",
            "ajax": 1,
        }
        return f"{base}/cgi-bin/appmsgpublish?{urlencode(query)}"

    def start_mp(self, target: dict[str, Any], options: dict[str, Any]) -> Iterator[Any]:
        if not (self.token and self.cookie):
            self.logger.error(
                "WeChat target %s uses the MP list endpoint but MONITOR_WECHAT_TOKEN / "
                "MONITOR_WECHAT_COOKIE are not set in the environment",
                target["id"],
            )
            yield CheckItem(
                kind=CheckKind.API,
                url=redact(self.mp_url(target, 0)),
                outcome=CheckOutcome.NO_CREDENTIALS,
                target_id=target["id"],
                error="MONITOR_WECHAT_TOKEN and MONITOR_WECHAT_COOKIE must be set for mode mp",
                checked_at=now_iso(),
            )
            return
        yield self.mp_request(target, 0)

    def mp_request(self, target: dict[str, Any], begin: int) -> scrapy.Request:
        options = target.get("options") or {}
        base = str(options.get("mp_base") or self.mp_base).rstrip("/")
        return self.target_request(
            self.mp_url(target, begin),
            target,
            self.parse_mp_list,
            kind=CheckKind.API,
            conditional=begin == 0,
            headers={"Cookie": self.cookie, "Referer": f"{base}/", "X-Requested-With": "XMLHttpRequest"},
            begin=begin,
            dont_merge_cookies=True,
        )

    def parse_mp_list(self, response: Response) -> Iterator[Any]:
        target, begin = response.meta["target"], response.meta["begin"]
        tid = target["id"]
        early = self.preamble(response)
        if early is not None:
            yield from early
            return
        try:
            page = parse_publish_page(json.loads(response.text))
        except (SourceError, ValueError) as exc:
            outcome = exc.outcome if isinstance(exc, SourceError) else CheckOutcome.MALFORMED
            reason = exc.reason if isinstance(exc, SourceError) else f"not JSON: {exc}"
            if outcome == CheckOutcome.NO_CREDENTIALS:
                self.logger.error(
                    "WeChat MP session expired: renew MONITOR_WECHAT_TOKEN / MONITOR_WECHAT_COOKIE"
                )
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
        more = begin + 5 < page.total and len(page.articles) > 0
        if not reached_known and more and begin // 5 + 1 < self.max_pages:
            yield self.mp_request(target, begin + 5)
        if begin == 0:
            v = self.validator_item(response, key=response.meta["validator_key"], target_id=tid)
            if v:
                yield v

    # --- mode urls and page -----------------------------------------------------------------------

    def start_article_urls(self, target: dict[str, Any], urls: list[str]) -> Iterator[Any]:
        tid = target["id"]
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

    def parse_list_page(self, response: Response) -> Iterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        early = self.preamble(response)
        if early is not None:
            yield from early
            return
        links = [
            urljoin(response.url, h)
            for h in response.css("a::attr(href)").getall()
            if "/s?" in h or "/s/" in h
        ]
        if not links:
            state = classify_page_state(response.text, response.url)
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
        result = parse_article_page(response.text, response.url)
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
            # The list's identity wins (the page may be reached through a redirect or short link).
            post.post_id, post.published_at = listed.post_id, post.published_at or listed.published_at
        yield self.new_post(post)
        if listed is None:
            yield AccountItem(
                target_id=tid, status=AccountStatus.ACTIVE, name=result.nickname or target["name"]
            )
        key = response.meta.get("validator_key")
        if key:
            v = self.validator_item(response, key=key, target_id=tid)
            if v:
                yield v

    # --- mode sogou -------------------------------------------------------------------------------

    def parse_sogou(self, response: Response) -> Iterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        early = self.preamble(response)
        if early is not None:
            yield from early
            return
        result = parse_sogou_accounts(response.text, response.url)
        if isinstance(result, PageState):
            self.crawler.stats.inc_value(f"monitor/wechat/sogou_{result.outcome}")  # type: ignore[union-attr]
            yield self.check(response, outcome=result.outcome, error=result.reason)
            return
        handle = (target.get("handle") or "").strip()
        match = next((a for a in result if handle and a.wechat_id == handle), None) or next(
            (a for a in result if a.name == target["name"]), None
        )
        if match is None:
            yield self.check(
                response,
                outcome=CheckOutcome.NOT_FOUND,
                error=f"no account {target['name']!r} in results",
            )
            return
        yield self.check(response)
        yield AccountItem(
            target_id=tid,
            status=AccountStatus.ACTIVE,
            name=match.name,
            description=match.description,
            verified=1 if match.verified_by else 0,
            verified_reason=match.verified_by,
        )
        if match.latest_at:
            # Sogou links are temporary: the latest article is identified by its time.
            post = PostItem(
                target_id=tid,
                platform="wechat",
                post_id=f"sogou:{match.wechat_id or match.name}:{match.latest_at}",
                title=match.latest_title,
                published_at=match.latest_at,
                kind=CheckKind.ARTICLE,
            )
            if not self.is_known(tid, post.post_id):
                yield self.new_post(post)
        v = self.validator_item(response, key=response.meta["validator_key"], target_id=tid)
        if v:
            yield v

    def redact(self, url: str) -> str:
        return redact(url)

    def secrets(self) -> tuple[str, ...]:
        return (self.token, self.cookie)
