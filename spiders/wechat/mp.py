"""The MP back end's list (/cgi-bin/appmsgpublish): an account's articles, read with a logged-in session."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from core.dates import normalize_timestamp
from core.enums import CheckOutcome
from core.fields import note_bad_field, read_field
from core.items import PostItem
from core.text import html_to_text
from spiders.base import SourceError
from spiders.wechat.article import ORIGINAL_STATS, REPOST_STATS
from spiders.wechat.kinds import show_type_kind
from spiders.wechat.scripts import js_unescape, parse_int

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
# Query parameters that carry a session (the MP token; a WeChat client's uin/key/pass_ticket in a history
# URL): never logged, stored, or used as a validator key.
SESSION_PARAMS = ("token", "pass_ticket", "key", "appmsg_token", "uin", "wxtoken")
PAGE_SIZE = 5  # the endpoint's count per answer


def publish_list_url(base: str, *, fakeid: str, begin: int, token: str) -> str:
    """The list of an account's articles from offset ``begin``, newest first."""
    query = {
        "sub": "list",
        "begin": begin,
        "count": PAGE_SIZE,
        "fakeid": fakeid,
        "token": token,
        "lang": "zh_CN",
        "f": "json",
        "ajax": 1,
    }
    return f"{base}/cgi-bin/appmsgpublish?{urlencode(query)}"


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
    base_resp = data.get("base_resp")
    if not isinstance(base_resp, dict):
        raise SourceError(CheckOutcome.MALFORMED, f"MP base_resp is not an object: {str(base_resp)[:80]!r}")
    ret = parse_int(base_resp.get("ret"))
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
            # One entry of another shape loses that entry, never the page (counted as a bad field).
            listed = read_field("publish_info", _listed_articles, entry) or []
            articles.extend(listed)
        return PublishPage(total=parse_int(page.get("total_count")) or 0, articles=articles)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SourceError(
            CheckOutcome.MALFORMED, f"MP publish_page not in the expected shape: {exc}"
        ) from exc


def _listed_time(value: Any) -> str | None:
    when = normalize_timestamp(value)
    if when is None and value not in (None, ""):
        note_bad_field("published_at")
    return when


def _listed_articles(entry: Any) -> list[ListedArticle]:
    info = entry.get("publish_info") or "{}"
    info = json.loads(info) if isinstance(info, str) else info
    out = []
    for a in info.get("appmsgex", []):
        out.append(
            ListedArticle(
                appmsgid=str(a.get("appmsgid") or str(a.get("aid") or "").split("_")[0]),
                itemidx=str(a.get("itemidx") or 1),
                title=a.get("title"),
                digest=a.get("digest"),
                link=js_unescape(a["link"]) if isinstance(a.get("link"), str) and a["link"] else None,
                create_time=_listed_time(a.get("create_time")),
                copyright_stat=parse_int(a.get("copyright_stat")),
                item_show_type=parse_int(a.get("item_show_type")),
                is_deleted=bool(a.get("is_deleted")),
            )
        )
    return out


def listed_to_post(item: ListedArticle, *, fakeid: str, target_id: int) -> PostItem:
    stat = item.copyright_stat
    return PostItem(
        target_id=target_id,
        platform="wechat",
        post_id=f"{fakeid}_{item.appmsgid}_{item.itemidx}",
        url=item.link,
        title=item.title,
        text=html_to_text(item.digest),  # the list's digest may carry entities
        published_at=item.create_time,
        kind=show_type_kind(item.item_show_type),
        is_original=1 if stat in ORIGINAL_STATS else (0 if stat is not None else None),
        is_repost=1 if stat in REPOST_STATS else (0 if stat is not None else None),
    )


def redact(url: str) -> str:
    """The URL without its session token: what is logged, stored and used as the validator key."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable (http://[::1/…): nothing after the path is kept
        return url.split("?", 1)[0].split("#", 1)[0]
    query = [(k, v) for k, vs in parse_qs(parts.query, keep_blank_values=True).items() for v in vs]
    clean = [(k, v) for k, v in query if k not in SESSION_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(clean)))
