"""Sogou WeChat search (weixin.sogou.com, no login): account results (type=1) with a last-post time, and
article results (type=2) with each article's time and account."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin

from parsel import Selector, SelectorList

from core.dates import normalize_timestamp
from core.enums import CheckOutcome, PostKind
from core.items import PostItem
from core.text import clean_text
from spiders import fields
from spiders.pagestate import PageState, classify_page_state

# Sogou marks the query's words in names, titles and descriptions: <em><!--red_beg-->高考<!--red_end--></em>.
_TIME = re.compile(r"timeConvert\(\s*['\"]?(\d{9,11})['\"]?\s*\)")
_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2060\ufeff]+")


@dataclass
class SogouAccount:
    name: str
    wechat_id: str | None
    description: str | None
    verified_by: str | None
    latest_title: str | None
    latest_at: str | None


@dataclass
class SogouArticle:
    title: str | None
    url: str | None  # a temporary /link?url=… or mp.weixin.qq.com/s?src=3… link
    account: str | None  # the account's name
    published_at: str | None
    summary: str | None


def account_search_url(base: str, query: str) -> str:
    return f"{base}/weixin?{urlencode({'type': 1, 'query': query, 'ie': 'utf8'})}"


def article_search_url(base: str, query: str) -> str:
    return f"{base}/weixin?{urlencode({'type': 2, 'query': query, 'ie': 'utf8'})}"


def plain_text(sel: Selector | SelectorList[Any]) -> str:
    """The text of a result field as one line: highlighted words (<em>) joined back into the words."""
    return clean_text(" ".join("".join(sel.css("::text").getall()).split()))


def match_key(name: str | None) -> str:
    """A name as matching compares it: width-folded (NFKC), without whitespace, markup or case."""
    text = re.sub(r"<[^>]*>", "", name or "")
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _blocked_or_empty(sel: Selector, html: str, url: str, items: SelectorList[Any]) -> PageState | None:
    """The anti-spider interstitial (never "no results"), a state page, or None when there are results."""
    if "antispider" in url or sel.css("#seccodeForm, #seccodeInput"):
        return PageState(CheckOutcome.BLOCKED, None, "Sogou anti-spider verification page")
    if items:
        return None
    return classify_page_state(html, url)


def _has_no_results(sel: Selector, html: str) -> bool:
    return bool(sel.css("#noresult_part1_container")) or "暂无与" in html


def _time(block: str, attr: str | None = None) -> str | None:
    ts = _TIME.search(block)
    return normalize_timestamp(ts[1] if ts else fields.as_int(attr))


def parse_sogou_accounts(html: str, url: str) -> list[SogouAccount] | PageState:
    """Account results, or a blocked state for the anti-spider interstitial (never "no results")."""
    sel = Selector(text=html or "<html></html>", type="html")
    items = sel.css("ul.news-list2 > li")
    state = _blocked_or_empty(sel, html, url, items)
    if state is not None:
        return state
    if not items:
        if _has_no_results(sel, html):
            return []
        return PageState(CheckOutcome.MALFORMED, None, "no ul.news-list2 in the Sogou answer")
    accounts = []
    for li in items:

        def dd_after(label: str, li: Selector = li) -> SelectorList[Any]:
            return li.xpath(f".//dl[dt[contains(., '{label}')]]/dd")

        latest = dd_after("最近文章")
        accounts.append(
            SogouAccount(
                name=plain_text(li.css(".txt-box p.tit a")),
                wechat_id=fields.wechat_id(plain_text(li.css("label[name=em_weixinhao]"))),
                description=plain_text(dd_after("功能介绍")) or None,
                verified_by=plain_text(dd_after("认证")) or None,
                latest_title=plain_text(latest.css("a")) or None,
                latest_at=_time(latest.get() or ""),
            )
        )
    return accounts


def find_account(
    accounts: list[SogouAccount], *, handle: str | Iterable[str] = "", name: str
) -> SogouAccount | None:
    """The target among the results: by 微信号 when the target has one, else by name (whitespace,
    width and the highlighting markup do not count)."""
    handles = {h.strip().casefold() for h in ([handle] if isinstance(handle, str) else handle) if h}
    by_handle = next((a for a in accounts if a.wechat_id and a.wechat_id.casefold() in handles), None)
    key = match_key(name)
    return by_handle or next((a for a in accounts if key and match_key(a.name) == key), None)


def latest_to_post(account: SogouAccount, *, target_id: int) -> PostItem | None:
    """The account's latest article as a post, or None when the result shows no time."""
    if not account.latest_at:
        return None
    # Sogou links are temporary: the latest article is identified by its time.
    return PostItem(
        target_id=target_id,
        platform="wechat",
        post_id=f"sogou:{account.wechat_id or account.name}:{account.latest_at}",
        title=account.latest_title,
        published_at=account.latest_at,
        kind=PostKind.ARTICLE,
    )


def parse_sogou_articles(html: str, url: str) -> list[SogouArticle] | PageState:
    """Article results (``ul.news-list > li``): title, temporary link, account, time; the anti-spider
    interstitial is blocked. The account sits in ``a.account`` (to 2019) or ``span.all-time-y2``."""
    sel = Selector(text=html or "<html></html>", type="html")
    items = sel.css("ul.news-list > li")
    state = _blocked_or_empty(sel, html, url, items)
    if state is not None:
        return state
    if not items:
        if _has_no_results(sel, html):
            return []
        return PageState(CheckOutcome.MALFORMED, None, "no ul.news-list in the Sogou article answer")
    articles = []
    for li in items:
        link = li.css(".txt-box h3 a")
        href = fields.as_str(link.attrib.get("href")) if link else None
        meta = li.css(".s-p")
        account = plain_text(meta.css("a.account")) or plain_text(meta.css(".all-time-y2"))
        articles.append(
            SogouArticle(
                title=plain_text(link) or None,
                url=urljoin(url, href) if href else None,
                account=account or None,
                published_at=_time(meta.get() or "", meta.attrib.get("t") if meta else None),
                summary=plain_text(li.css("p.txt-info")) or None,
            )
        )
    return articles


def articles_of(articles: list[SogouArticle], *, name: str) -> list[SogouArticle]:
    """The results the target's account published (matched by name as ``find_account`` does)."""
    key = match_key(name)
    return [a for a in articles if key and match_key(a.account) == key]


def article_to_post(article: SogouArticle, *, target_id: int) -> PostItem | None:
    """A dated result as a post (its link is temporary: identified by account, time and title)."""
    if not article.published_at:
        return None
    digest = hashlib.sha1((article.title or "").encode(), usedforsecurity=False).hexdigest()[:10]
    return PostItem(
        target_id=target_id,
        platform="wechat",
        post_id=f"sogou:{article.account}:{article.published_at}:{digest}",
        url=article.url,
        title=article.title,
        text=article.summary,
        published_at=article.published_at,
        kind=PostKind.ARTICLE,
    )
