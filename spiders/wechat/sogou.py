"""Sogou WeChat account search (weixin.sogou.com/weixin?type=1&query=NAME): no login, a last-post time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from parsel import Selector

from core.dates import normalize_timestamp
from core.enums import CheckKind, CheckOutcome
from core.items import PostItem
from core.text import clean_text
from spiders.pagestate import PageState, classify_page_state


@dataclass
class SogouAccount:
    name: str
    wechat_id: str | None
    description: str | None
    verified_by: str | None
    latest_title: str | None
    latest_at: str | None


def account_search_url(base: str, query: str) -> str:
    return f"{base}/weixin?{urlencode({'type': 1, 'query': query, 'ie': 'utf8'})}"


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


def find_account(accounts: list[SogouAccount], *, handle: str, name: str) -> SogouAccount | None:
    """The target among the results: by 微信号 when the target has one, else by exact name."""
    by_handle = next((a for a in accounts if handle and a.wechat_id == handle), None)
    return by_handle or next((a for a in accounts if a.name == name), None)


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
        kind=CheckKind.ARTICLE,
    )
