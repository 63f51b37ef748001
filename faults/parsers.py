"""Every pure parse and rule function, called the way its spider or detection calls it, on inputs that
start from the project's saved pages (tests/fixtures, ../shared/fixtures/real) and real texts.

``PARSERS`` is shared by the property-based tests (tests/test_parsers_never_raise.py) and the fuzz
stage of the campaign (faults/fuzz.py). A parser may answer bad input with SourceError (its way of
saying "not in the shape expected") or a PageState; any other exception is a bug.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from parsel import Selector
from scrapy.http import HtmlResponse, Request

from core import dates, text
from core.clock import CHINA_TZ
from core.redact import mask_secrets, redact_url, safe_referer
from detection.rules.freshness import gap_stats
from spiders import pagestate
from spiders.answers import read_json
from spiders.base import SourceError
from spiders.charset import decode_by_evidence
from spiders.feed import entry_to_post, parse_feed
from spiders.pagestate import PageState
from spiders.portal import boards, columns, links, lists, meta
from spiders.portal.homepage import read_homepage
from spiders.wechat import article as wx_article
from spiders.wechat import mp as wx_mp
from spiders.wechat import sogou as wx_sogou
from spiders.weibo import (
    is_pinned,
    mblog_to_post,
    parse_count,
    parse_long_text,
    parse_profile,
    parse_timeline,
    parse_weibo_time,
    profile_to_account,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"
AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=CHINA_TZ)
BASE = "http://127.0.0.1:9/"
ALLOWED: tuple[type[BaseException], ...] = (SourceError,)


@dataclass(frozen=True)
class Parser:
    name: str
    kind: str  # text (str) / bytes / json (a decoded JSON value)
    call: Callable[[Any], Any]
    seeds: tuple[Any, ...] = field(default=(), repr=False)
    page: bool = False  # text decoded from an HTTP body: Scrapy's decoding leaves no lone surrogate


def prepare(parser: Parser, value: Any) -> Any:
    """The input as the parser meets it: page text as Scrapy decodes bytes (invalid ones replaced)."""
    if parser.page and isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def _files(*patterns: str) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        found += sorted(FIXTURES.glob(pattern)) + sorted((SHARED / "fixtures" / "real").glob(pattern))
    return found


@cache
def html_seeds(*patterns: str) -> tuple[str, ...]:
    out = []
    for path in _files(*patterns):
        raw = path.read_bytes()
        decoding = decode_by_evidence(raw, None)
        out.append(raw.decode(decoding.encoding or "utf-8", "replace"))
    return tuple(out) or ("<html><body></body></html>",)


@cache
def byte_seeds(*patterns: str) -> tuple[bytes, ...]:
    return tuple(p.read_bytes() for p in _files(*patterns)) or (b"",)


@cache
def json_seeds(*patterns: str) -> tuple[Any, ...]:
    out = []
    for path in _files(*patterns):
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except ValueError:
            continue
    return tuple(out) or ({},)


@cache
def text_seeds() -> tuple[str, ...]:
    """Dates and notices as sources write them: the labelled notices and the shared real ones."""
    out = [
        "2024-06-05",
        "2024年6月5日 10:05",
        "[06-05]",
        "昨天 10:05",
        "3小时前",
        "刚刚",
        "二〇二四年六月一日",
        "Sat Jun 01 10:00:00 +0800 2024",
        "Mon, 03 Jun 2024 08:00:00 GMT",
        "1717372800",
        "145.5万",
        "10万+",
    ]
    data = yaml.safe_load((ROOT / "tests" / "data" / "closure_notices.yaml").read_text(encoding="utf-8"))
    out += [f"{i.get('title') or ''}\n{i.get('text') or ''}" for i in data.get("items", [])[:40]]
    real = SHARED / "real" / "closure_notices_dev.jsonl"
    if real.exists():
        for line in real.read_text(encoding="utf-8").splitlines()[:40]:
            try:
                out.append(str(json.loads(line).get("text") or ""))
            except ValueError:
                continue
    return tuple(out)


def _sel(html: str) -> Selector:
    return Selector(text=html or "<html></html>")


def _response(body: bytes, url: str = BASE, ctype: str = "text/html") -> HtmlResponse:
    return HtmlResponse(url=url, body=body, headers={"Content-Type": ctype}, request=Request(url))


# --- the calls, as the spiders and detection make them --------------------------------------------


def portal_homepage(html: str) -> Any:
    sel = _sel(html)
    meta.parse_site_meta(sel)
    meta.detect_cms(html, BASE)
    lists.find_homepage_items(sel, BASE, AS_OF)
    links.extract_links(sel, BASE)
    columns.discover_columns(sel, BASE, links.site_root(BASE))


def portal_column(html: str) -> Any:
    page = lists.parse_column_page(_sel(html), BASE + "col/index.html", AS_OF)
    lists.next_page_url(_sel(html), BASE)
    lists.hanweb_page_urls(html, BASE)
    lists.hanweb_entries(html, BASE, AS_OF)
    return page


def portal_article(html: str) -> Any:
    return lists.parse_article_date(_sel(html), AS_OF)


def portal_board(html: str) -> Any:
    sel = _sel(html)
    rows = boards.parse_message_list(sel, BASE, AS_OF)
    detail = boards.parse_message_detail(sel)
    boards.is_board_empty(sel)
    for row in rows[:20] or [boards.MessageRow(url=BASE + "detail.html?id=1", title=None)]:
        boards.build_message(row, detail, target_id=1, board_url=BASE, board_kind="consultation", as_of=AS_OF)
        boards.message_id_from_url(row.url)
    boards.classify_board(html[:200], BASE)


def portal_bytes(body: bytes) -> Any:
    decoding = meta.page_decoding(_response(body))
    home = read_homepage(_response(body))
    if home.page is not None:
        meta.parse_site_meta(home.page.selector)
    return decoding


def wechat_article(html: str) -> Any:
    result = wx_article.parse_article_page(html, BASE + "s?__biz=MzA=&mid=1&idx=1&sn=x")
    if not isinstance(result, PageState):
        wx_article.article_to_post(result, target_id=1)
    return result


def wechat_sogou(html: str) -> Any:
    result = wx_sogou.parse_sogou_accounts(html, BASE + "weixin?type=1&query=x")
    if isinstance(result, list):
        match = wx_sogou.find_account(result, handle="x", name="x") or (result[0] if result else None)
        if match is not None:
            wx_sogou.latest_to_post(match, target_id=1)
    return result


def wechat_mp(data: Any) -> Any:
    page = wx_mp.parse_publish_page(data)
    for item in page.articles:
        wx_mp.listed_to_post(item, fakeid="MzA=", target_id=1)
    return page


def feed(body: bytes) -> Any:
    parsed = parse_feed(body, BASE + "feed.xml")
    for entry in parsed.entries:
        entry_to_post(entry, target_id=1, platform="feed")
    return parsed


def weibo_profile(data: Any) -> Any:
    return profile_to_account(parse_profile(data), target_id=1)


def weibo_timeline(data: Any) -> Any:
    timeline = parse_timeline(data)
    for mblog in timeline.mblogs:
        is_pinned(mblog)
        mblog_to_post(mblog, target_id=1, now=AS_OF, base=BASE.rstrip("/"))
    return timeline


def weibo_mblog(data: Any) -> Any:
    """One mblog of a timeline card on its own (a field of the wrong type inside a post)."""
    mblog = data if isinstance(data, dict) else {"text": data}
    return mblog_to_post(mblog, target_id=1, now=AS_OF, base=BASE.rstrip("/"))


def times(value: str) -> Any:
    dates.parse_timestamp(value, ref=AS_OF)
    dates.normalize_timestamp(value, ref=AS_OF)
    for tense in ("past", "future", "nearest"):
        dates.find_dates(value, ref=AS_OF, tense=tense)  # type: ignore[arg-type]
    dates.strip_dates(value)
    dates.cn_number(value[:6])
    parse_weibo_time(value, AS_OF)
    parse_count(value)
    lists.parse_list_date(value, AS_OF)


def values(value: Any) -> Any:
    """Timestamps and counts as a JSON field of any type."""
    dates.parse_timestamp(value, ref=AS_OF)
    dates.normalize_timestamp(value)
    parse_count(value)
    wx_article.parse_int(value)
    parse_weibo_time(value, AS_OF)


def page_states(html: str) -> Any:
    pagestate.classify_page_state(html, BASE)
    pagestate.classify_wall(html[:3000], BASE + "sso/login", redirected=True, links=1, has_password=True)
    pagestate.classify_wall_url(html[:300], redirected=True)


def texts(value: str) -> Any:
    text.clean_text(value)
    text.summarize_html(value)
    wx_article.script_var(value, "ct")
    wx_article.js_unescape(value[:2000])
    wx_article.url_post_id(value[:500])
    wx_mp.redact(value[:500])
    links.absolute_url(BASE, value[:500])
    columns.classify_column(name=value[:100], url=BASE + value[:100], column_type=value[:50])
    redact_url(value[:500])
    mask_secrets(value, ["1789654321"])
    safe_referer(value[:300], BASE + "x", ["1789654321"])


def options(data: Any) -> Any:
    """A target's options as the spiders read them (a registry edited by hand included)."""
    opts = data if isinstance(data, dict) else {"columns": data}
    spec = opts.get("columns") or []
    columns.add_target_columns([], spec if isinstance(spec, list) else [spec], BASE)


def json_answer(body: bytes) -> Any:
    """An API answer's bytes as spiders/answers.read_json meets them."""
    return read_json(_response(body, BASE + "api", "application/json"))


def notices(value: str) -> Any:
    from detection.rules import notice, quality

    for posted in (AS_OF, AS_OF - timedelta(days=400)):
        notice.classify_notice(value[:60], value, posted)
    quality.simhash(value)
    quality.is_meeting_title(value, ("会议", "工作周报"))
    stamps = [AS_OF - timedelta(days=len(s)) for s in value.split("。")[:50]]
    gap_stats(stamps, as_of=AS_OF, window_start=AS_OF - timedelta(days=365), max_gap_days=14)


PARSERS: tuple[Parser, ...] = (
    Parser(
        "portal.homepage",
        "text",
        portal_homepage,
        html_seeds("portal/homepage.html", "portal/hub_*.html"),
        True,
    ),
    Parser(
        "portal.column", "text", portal_column, html_seeds("portal/*column*.html", "portal/trs_*.html"), True
    ),
    Parser("portal.article", "text", portal_article, html_seeds("portal/article_*.html"), True),
    Parser("portal.board", "text", portal_board, html_seeds("portal/board_*.html"), True),
    Parser("portal.bytes", "bytes", portal_bytes, byte_seeds("portal/*.html", "portal/*.xml")),
    Parser(
        "wechat.article",
        "text",
        wechat_article,
        html_seeds("wechat/article_*.html", "wechat/state_*.html"),
        True,
    ),
    Parser("wechat.sogou", "text", wechat_sogou, html_seeds("wechat/sogou_*.html", "sogou_*.html"), True),
    Parser("wechat.mp", "json", wechat_mp, json_seeds("wechat/mp_*.json")),
    Parser("feed", "bytes", feed, byte_seeds("feed/*.xml", "feed/*.html")),
    Parser(
        "weibo.profile", "json", weibo_profile, json_seeds("weibo/profile.json", "weibo_getIndex_100505*")
    ),
    Parser(
        "weibo.timeline",
        "json",
        weibo_timeline,
        json_seeds("weibo/timeline_*.json", "weibo_getIndex_107603*"),
    ),
    Parser("weibo.long_text", "json", parse_long_text, json_seeds("weibo/extend.json")),
    Parser(
        "weibo.mblog",
        "json",
        weibo_mblog,
        tuple(m for t in json_seeds("weibo/timeline_*.json") for m in parse_timeline(t).mblogs[:3]),
    ),
    Parser("dates", "text", times, text_seeds()[:12]),
    Parser("values", "json", values, (1717372800, "1717372800", "145.5万", None, 1.5, "2024-06-05")),
    Parser(
        "pagestate",
        "text",
        page_states,
        html_seeds("wechat/state_*.html", "feed/*.html", "*antispider*"),
        True,
    ),
    Parser("text", "text", texts, html_seeds("wechat/article_original.html", "portal/article_pubdate.html")),
    Parser("options", "json", options, ({"columns": ["col/index.html", {"url": "/a/", "name": "通知"}]},)),
    Parser(
        "json_answer",
        "bytes",
        json_answer,
        byte_seeds("weibo/*.json", "wechat/mp_*.json", "wechat/sogou_*.html"),
    ),
    # Texts of stored posts: the store writes no lone surrogate (core/fields.as_column).
    Parser("notices", "text", notices, text_seeds()[12:], True),
)


def call_safely(parser: Parser, value: Any) -> BaseException | None:
    """The exception ``parser`` let out on ``value`` (None: it answered, or refused with SourceError)."""
    try:
        parser.call(prepare(parser, value))
    except ALLOWED:
        return None
    except Exception as exc:
        return exc
    return None
