"""WeChat article pages (mp.weixin.qq.com/s?__biz=…&mid=…&idx=…&sn=…): the article, or the state shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from parsel import Selector

from core.dates import normalize_timestamp, parse_timestamp
from core.enums import CheckOutcome
from core.items import PostItem
from core.text import clean_text, summarize_html
from spiders.feed import REPOST_SOURCE
from spiders.pagestate import PageState, classify_page_state

_QUOTED = re.compile(r"""(["'])((?:\\.|(?!\1).)*)\1""")
# copyright_stat in list APIs and pages: 11 is 原创 to every crawler (observed), 101 转载.
ORIGINAL_STATS = {11}
REPOST_STATS = {100, 101}
# item_show_type: what kind of post a page or list entry is.
SHOW_TYPES = {0: "article", 5: "video", 7: "audio", 8: "image", 10: "text"}


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


def parse_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
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
    stat = parse_int(script_var(html, "copyright_stat") or script_var(html, "_copyright_stat"))
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
        item_show_type=parse_int(script_var(html, "item_show_type")),
        repost_source=repost_source,
        source_url=source_url,
        ip_wording=ip[1] if ip else None,
        permalink=script_var(html, "msg_link"),
    )


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


def url_post_id(url: str) -> str | None:
    """biz_mid_idx from an article URL's query (None for short /s/<token> links)."""
    try:
        query = parse_qs(urlsplit(js_unescape(url)).query)
    except ValueError:
        return None
    biz, mid = query.get("__biz", [""])[0], query.get("mid", [""])[0]
    return f"{biz}_{mid}_{query.get('idx', ['1'])[0]}" if biz and mid else None
