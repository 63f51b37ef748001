"""WeChat article pages (mp.weixin.qq.com/s?__biz=…&mid=…&idx=…&sn=…): the article, or the state shown."""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsel import Selector

from core.dates import normalize_timestamp, parse_timestamp
from core.enums import AccountStatus, CheckOutcome, PostKind
from core.items import AccountItem, PostItem
from core.text import clean_text, summarize_html
from spiders import fields
from spiders.feed import REPOST_SOURCE
from spiders.pagestate import PageState, classify_page_state
from spiders.wechat.kinds import article_kind
from spiders.wechat.scripts import (
    count_entries,
    js_unescape,
    parse_int,
    script_prop,
    script_var,
    url_post_id,
    url_query,
)

__all__ = [
    "ORIGINAL_STATS",
    "REPOST_STATS",
    "Article",
    "article_to_account",
    "article_to_post",
    "js_unescape",
    "parse_article_page",
    "parse_int",
    "script_var",
    "url_post_id",
]

# copyright_stat in list APIs and pages: 11 is 原创 to every crawler (observed), 101 转载.
ORIGINAL_STATS = {11}
REPOST_STATS = {100, 101}
# A voice in the content: <mpvoice> (2015-), <mp-common-mpaudio> in the newer editor.
VOICES = "mpvoice, mp-common-mpaudio, .js_editor_audio"
VIDEOS = "iframe.video_iframe, iframe[data-src*='v.qq.com'], mpvideo, video, mp-video, mp-common-videosnap"


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
    voice_count: int = 0
    kind: PostKind = PostKind.ARTICLE

    @property
    def post_id(self) -> str:
        if self.biz and self.mid:
            return f"{self.biz}_{self.mid}_{self.idx or 1}"
        return self.permalink or self.url


def is_share_page(html: str) -> bool:
    """A picture or text share (item_show_type 8 / 10): no #js_content, the post lives in script data."""
    return "picture_page_info_list" in html or "text_page_info" in html


def is_article_page(sel: Selector, html: str) -> bool:
    titled = bool(
        sel.css("#activity-name") or script_var(html, "msg_title") or sel.css("meta[property='og:title']")
    )
    return titled and (bool(sel.css("#js_content")) or is_share_page(html))


def _published(sel: Selector, html: str) -> tuple[str | None, str | None]:
    for var in ("ct", "create_time", "publish_time"):
        value = script_var(html, var) or script_prop(html, var)
        if value and parse_timestamp(value):
            return normalize_timestamp(value), var
    visible = clean_text(" ".join(sel.css("#publish_time::text, #post-date::text").getall()))
    if visible and parse_timestamp(visible):
        return normalize_timestamp(visible), "visible"
    return None, None


def _alias(sel: Selector, html: str) -> str | None:
    shown = sel.xpath(
        "//label[contains(@class,'profile_meta_label')][contains(.,'微信号')]"
        "/following-sibling::span[1]/text()"
    ).get()
    return fields.wechat_id(shown) or fields.wechat_id(script_var(html, "alias"))


def parse_article_page(html: str, url: str) -> Article | PageState:
    """An article, or the state the page shows (deleted, banned, migrated, cancelled, verification…)."""
    sel = Selector(text=html or "<html></html>", type="html")
    if not is_article_page(sel, html):
        visible = " ".join(sel.xpath("//body//text()[not(ancestor::script)]").getall())
        scripts = " ".join(sel.css("script::text").getall())
        state = classify_page_state(f"{visible}\n{scripts}", url)
        if state is None:
            page_title = clean_text(sel.css("title::text").get())
            return PageState(CheckOutcome.MALFORMED, None, f"not an article page (title {page_title!r})")
        return state
    query = url_query(url)

    def from_url(key: str) -> str | None:
        return query.get(key, [None])[0]

    title: str | None = (
        clean_text(" ".join(sel.css("#activity-name ::text").getall()))
        or script_var(html, "msg_title")
        or sel.css("meta[property='og:title']::attr(content)").get()
        or script_prop(html, "title")
    )
    nickname: str | None = (
        script_var(html, "nickname")
        or script_prop(html, "nick_name")
        or clean_text(" ".join(sel.css("#js_name ::text").getall()))
        or sel.css(".wx_follow_nickname::text").get()
        or sel.css("strong.profile_nickname::text").get()
    )
    published, source = _published(sel, html)
    stat = parse_int(script_var(html, "copyright_stat") or script_var(html, "_copyright_stat"))
    has_logo = bool(sel.css("#copyright_logo"))
    is_original = 1 if (stat in ORIGINAL_STATS or has_logo) else (0 if stat is not None else None)
    show_type = parse_int(script_var(html, "item_show_type") or script_prop(html, "item_show_type"))
    content = sel.css("#js_content")
    if content:
        text, _, _ = summarize_html(content.get() or "")
        images = len(content.css("img[data-src], img[src]"))
        videos = len(content.css(VIDEOS))
        voices = len(content.css(VOICES))
    else:
        # A share page: its text in content_noencode (or the description), its pictures in a list.
        description = sel.css("meta[name='description']::attr(content)").get() or ""
        text = clean_text(script_prop(html, "content_noencode") or js_unescape(description))
        images, videos, voices = count_entries(html, "picture_page_info_list", "cdn_url"), 0, 0
    text_length = len(text.replace("\n", "").replace(" ", ""))
    source_url = script_var(html, "msg_source_url") or script_var(html, "source_url")
    repost_match = REPOST_SOURCE.match(text)
    repost_source = script_var(html, "source_nickname") or (repost_match["src"] if repost_match else None)
    if repost_source is None and source_url:
        repost_source = source_url
    if stat in REPOST_STATS and repost_source is None:
        repost_source = "转载"
    ip = re.search(r"provinceName\s*:\s*['\"]([^'\"]+)['\"]", html)
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
        alias=_alias(sel, html),
        published_at=published,
        time_source=source,
        copyright_stat=stat,
        is_original=is_original,
        author=clean_text(author) or None,
        text=text,
        text_length=text_length,
        image_count=images,
        video_count=videos,
        item_show_type=show_type,
        repost_source=repost_source,
        source_url=source_url,
        ip_wording=ip[1] if ip else None,
        permalink=script_var(html, "msg_link"),
        voice_count=voices,
        kind=article_kind(show_type, voices=voices, videos=videos, text_length=text_length),
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
        kind=article.kind,
        is_original=article.is_original,
        is_repost=1 if article.repost_source else 0,
        repost_source=article.repost_source,
        image_count=article.image_count,
        video_count=article.video_count,
    )


def article_to_account(article: Article, *, target_id: int, name: str | None = None) -> AccountItem:
    """The account an article page shows: its nickname, 原始ID (var user_name) and 微信号."""
    return AccountItem(
        target_id=target_id,
        status=AccountStatus.ACTIVE,
        name=article.nickname or name,
        gh_id=fields.gh_id(article.user_name),
        wechat_id=article.alias,
    )
