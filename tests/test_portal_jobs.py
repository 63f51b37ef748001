"""ColumnJob: one column's further pages, articles and messages fan out as fetches and fan in to its rows.

Pure: saved pages go in through ``settle``, fetches and items come out; no engine, no network.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import pytest
from scrapy.http import HtmlResponse, Request

from core.clock import CHINA_TZ
from core.enums import CheckKind, ColumnStatus
from core.items import ColumnEntryItem, ColumnItem, MessageItem
from spiders.portal import jobs
from spiders.portal.columns import DEFAULT_COLUMN_RULES, ColumnRef
from spiders.portal.jobs import ColumnJob, Fetch, Limits, Step
from spiders.portal.links import site_root
from tests.helpers import fixture_response

AS_OF = datetime(2024, 6, 30, 12, 0, tzinfo=CHINA_TZ)
GBK = {"Content-Type": "text/html; charset=GBK"}
TRS_COLUMN = "http://www.mouxian.gov.cn/zwdt/gzdt/"


def new_job(url: str, name: str | None = None, **limits: int) -> ColumnJob:
    """The job for a column of the portal whose homepage is the site's /."""
    home = urljoin(url, "/")
    return ColumnJob(
        target={"id": 7, "url": home},
        col=ColumnRef(url, name, "nav"),
        rules=DEFAULT_COLUMN_RULES,
        root=site_root(home),
        limits=Limits(**limits),
        as_of=AS_OF,
    )


def html(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode(), encoding="utf-8", request=Request(url))


def list_page(url: str, rows: list[tuple[str, str | None]], *, next_href: str | None = None) -> HtmlResponse:
    """A list page shaped like the TRS/generic templates: ul.list of links with a date span."""
    lis = "".join(
        f'<li><a href="{href}">{href.rsplit("/", 1)[-1]}</a>{f"<span>{day}</span>" if day else ""}</li>'
        for href, day in rows
    )
    pager = f'<div class="page"><a href="{next_href}">下一页</a></div>' if next_href else ""
    return html(url, f'<html><body><ul class="list">{lis}</ul>{pager}</body></html>')


def trs_job(**limits: int) -> tuple[ColumnJob, list[Fetch]]:
    job = new_job(TRS_COLUMN, "工作动态", **limits)
    first = fixture_response("portal", "trs_column_gbk.html", TRS_COLUMN, headers=GBK)
    return job, job.settle(job.first, first).fetches


def trs_page(fetch: Fetch) -> HtmlResponse:
    n = fetch.index
    return list_page(fetch.url, [(f"/zwdt/gzdt/202405/t202405{n:02d}_{n}.html", f"2024-05-{n:02d}")])


def column_of(items: list[Any]) -> ColumnItem:
    assert isinstance(items[0], ColumnItem)
    return items[0]


def entries_of(items: list[Any]) -> list[ColumnEntryItem]:
    return [i for i in items if isinstance(i, ColumnEntryItem)]


def test_pages_known_up_front_are_requested_together_up_to_the_cap() -> None:
    job, fetches = trs_job(max_pages=5)
    # createPageHTML names 55 more pages; the cap leaves 4, all asked for at once.
    assert [(f.step, f.index, f.url) for f in fetches] == [
        (Step.PAGE, n, f"{TRS_COLUMN}index_{n}.html") for n in range(1, 5)
    ]
    assert {f.kind for f in fetches} == {CheckKind.COLUMN}
    assert {f.found_on for f in fetches} == {TRS_COLUMN}
    assert job.waiting == set(fetches)
    assert not job.done


def test_a_failed_page_keeps_the_others_and_rows_stay_in_page_order() -> None:
    job, pages = trs_job(max_pages=5, link_articles=2)
    later = None
    for fetch in reversed(pages):  # answers arrive in any order
        if fetch.index == 3:
            advance = job.settle(fetch, None, "HTTP 500")
        else:
            advance = job.settle(fetch, trs_page(fetch))
        later = advance
    assert later is not None
    # Every page is in: the rows' links go to the link check, two dated articles are opened for theirs.
    assert later.links[0].depth == 2
    assert len(later.links[0].urls) == 7
    articles = later.fetches
    assert [(f.step, f.kind, f.index) for f in articles] == [
        (Step.ARTICLE, CheckKind.PAGE, 0),
        (Step.ARTICLE, CheckKind.PAGE, 1),
    ]
    ok = job.settle(articles[0], fixture_response("portal", "article_visible_date.html", articles[0].url))
    assert ok.links[0].depth == 3
    assert ok.links[0].found_on == articles[0].url
    assert job.settle(articles[1], None, "timeout").fetches == []
    assert job.done
    items = job.items()
    column = column_of(items)
    assert (column.status, column.pages_followed, column.item_count, column.undated_count) == (
        ColumnStatus.OK,
        4,
        7,
        0,
    )
    assert column.newest_item_at == "2024-06-05T00:00:00+08:00"
    urls = [e.url for e in entries_of(items)]
    assert urls[0] == "http://www.mouxian.gov.cn/zwdt/gzdt/202406/t20240605_3187261.html"
    assert urls[4:] == [
        f"http://www.mouxian.gov.cn/zwdt/gzdt/202405/t202405{n:02d}_{n}.html" for n in (1, 2, 4)
    ]


def test_any_order_and_any_failures_of_known_pages_give_the_same_rows() -> None:
    expected: dict[frozenset[int], list[str]] = {}
    for order in itertools.permutations(range(4)):
        for failed in itertools.chain.from_iterable(itertools.combinations(range(1, 5), k) for k in range(5)):
            job, pages = trs_job(max_pages=5, link_articles=0)
            for fetch in (pages[i] for i in order):
                if fetch.index in failed:
                    job.settle(fetch, None, "HTTP 503")
                else:
                    job.settle(fetch, trs_page(fetch))
            assert job.done
            items = job.items()
            assert column_of(items).pages_followed == 5 - len(failed)
            urls = [e.url for e in entries_of(items)]
            assert expected.setdefault(frozenset(failed), urls) == urls


def test_next_links_are_followed_one_at_a_time_up_to_the_cap() -> None:
    url = "http://www.moushi.gov.cn/rsxx/"
    job = new_job(url, "人事信息", max_pages=3, link_articles=0)
    first = job.settle(job.first, fixture_response("portal", "generic_column_query.html", url)).fetches
    assert [(f.step, f.index, f.url) for f in first] == [(Step.NEXT, 1, f"{url}?page=2")]
    second = job.settle(
        first[0], list_page(first[0].url, [("/rsxx/2024/0301/c3.html", "2024-03-01")], next_href="?page=3")
    ).fetches
    assert [(f.step, f.index, f.url) for f in second] == [(Step.NEXT, 2, f"{url}?page=3")]
    # The third page is the cap: its 下一页 is not followed.
    last = job.settle(
        second[0], list_page(second[0].url, [("/rsxx/2024/0201/c4.html", "2024-02-01")], next_href="?page=4")
    )
    assert last.fetches == []
    assert job.done
    column = column_of(job.items())
    assert (column.pages_followed, column.item_count) == (3, 4)


def test_a_failed_next_page_ends_the_chain_and_keeps_what_came_before() -> None:
    url = "http://www.moushi.gov.cn/rsxx/"
    job = new_job(url, "人事信息", link_articles=0)
    (nxt,) = job.settle(job.first, fixture_response("portal", "generic_column_query.html", url)).fetches
    assert job.settle(nxt, None, "HTTP 502").fetches == []
    assert job.done
    column = column_of(job.items())
    assert (column.status, column.pages_followed, column.item_count) == (ColumnStatus.OK, 1, 2)


def test_undated_rows_take_their_article_date_a_failed_article_leaves_its_row_undated() -> None:
    url = "http://x.gov.cn/rsxx/"
    job = new_job(url, "人事信息", article_dates=2, link_articles=1)
    rows = [(f"/rsxx/{n}.html", None) for n in range(3)] + [("/rsxx/dated.html", "2024-06-01")]
    articles = job.settle(job.first, list_page(url, rows)).fetches
    # Two undated rows (the cap), then one dated row opened for its links.
    assert [(f.index, f.url) for f in articles] == [
        (0, "http://x.gov.cn/rsxx/0.html"),
        (1, "http://x.gov.cn/rsxx/1.html"),
        (3, "http://x.gov.cn/rsxx/dated.html"),
    ]
    job.settle(articles[0], fixture_response("portal", "article_pubdate.html", articles[0].url))
    job.settle(articles[1], None, "HTTP 404")
    job.settle(articles[2], fixture_response("portal", "article_visible_date.html", articles[2].url))
    assert job.done
    items = job.items()
    assert column_of(items).undated_count == 2
    assert [(e.url.rsplit("/", 1)[-1], e.published_at, e.date_source) for e in entries_of(items)] == [
        ("0.html", "2020-08-02T00:00:00+08:00", "pubdate_meta"),
        ("1.html", None, "none"),
        ("2.html", None, "none"),
        ("dated.html", "2024-06-01T00:00:00+08:00", "list"),  # a dated row keeps its list date
    ]


def test_external_rows_are_not_opened() -> None:
    url = "http://x.gov.cn/tzgg/"
    job = new_job(url, "通知公告")
    fetches = job.settle(job.first, list_page(url, [("http://www.gov.cn/zhengce/1.html", None)])).fetches
    assert fetches == []
    assert job.done
    assert column_of(job.items()).undated_count == 1


def test_an_exception_reading_any_page_makes_the_column_parse_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    job, pages = trs_job(max_pages=3)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("unexpected markup")

    monkeypatch.setattr(jobs, "parse_column_page", broken)
    advance = job.settle(pages[0], trs_page(pages[0]))
    assert advance.fetches == []
    assert not job.done  # the other page is still in flight, and settles as usual
    assert job.settle(pages[1], trs_page(pages[1])).fetches == []
    assert job.done
    items = job.items()
    assert len(items) == 1
    column = column_of(items)
    assert (column.status, column.error) == (ColumnStatus.PARSE_FAILED, "ValueError: unexpected markup")
    assert column.column_type == "工作动态"  # what the column page said is kept
    assert isinstance(job.failure, ValueError)


def test_an_unreachable_column_page_is_the_column_unreachable() -> None:
    job = new_job("http://x.gov.cn/zcjd/", "政策解读")
    assert job.settle(job.first, None, "HTTP 503").fetches == []
    assert job.done
    column = column_of(job.items())
    assert (column.status, column.error, column.kind, column.item_count) == (
        ColumnStatus.UNREACHABLE,
        "HTTP 503",
        "政策文件",
        None,
    )


def test_a_script_list_asks_for_chromium_and_says_when_rendering_failed() -> None:
    url = "http://x.gov.cn/tpxw/"
    job = new_job(url, "图片新闻")
    (render,) = job.settle(job.first, fixture_response("portal", "script_column.html", url)).fetches
    assert (render.step, render.kind, render.url) == (Step.RENDER, CheckKind.COLUMN, url)
    assert job.settle(render, None, "no_browser: Chromium is not installed").fetches == []
    assert job.done
    column = column_of(job.items())
    assert (column.status, column.rendered) == (ColumnStatus.PARSE_FAILED, 1)
    assert column.error == "list written by script; rendering failed: no_browser: Chromium is not installed"


def test_a_board_opens_each_message_and_a_failed_one_keeps_its_row() -> None:
    url = "http://www.moushi.gov.cn/zmhd/wszx/"
    job = new_job(url, "网上咨询")
    details = job.settle(job.first, fixture_response("portal", "board_list.html", url)).fetches
    assert [(f.step, f.kind, f.index) for f in details] == [
        (Step.MESSAGE, CheckKind.PAGE, 0),
        (Step.MESSAGE, CheckKind.PAGE, 1),
    ]
    job.settle(details[1], None, "timeout")
    job.settle(details[0], fixture_response("portal", "board_detail_answered.html", details[0].url))
    assert job.done
    items = job.items()
    column = column_of(items)
    assert (column.status, column.item_count, column.pages_followed) == (ColumnStatus.OK, 2, 1)
    messages = [i for i in items if isinstance(i, MessageItem)]
    assert [(m.message_id, m.status, m.answered_at) for m in messages] == [
        ("G20240102-0011", "已办结", "2024-01-05T16:00:00+08:00"),
        ("G20240301-0007", "正在办理", None),  # from the list row alone
    ]
    assert {m.board_kind for m in messages} == {"consultation"}


def test_the_message_cap_limits_pages_opened_not_rows_counted() -> None:
    url = "http://www.moushi.gov.cn/zmhd/wszx/"
    job = new_job(url, "网上咨询", max_messages=1)
    (detail,) = job.settle(job.first, fixture_response("portal", "board_list.html", url)).fetches
    job.settle(detail, fixture_response("portal", "board_detail_answered.html", detail.url))
    items = job.items()
    assert column_of(items).item_count == 2
    messages = [i for i in items if isinstance(i, MessageItem)]
    # every row is a message; the one past the cap keeps what its row says
    assert [(m.message_id, m.answer_state, m.answered_at) for m in messages] == [
        ("G20240102-0011", "answered", "2024-01-05T16:00:00+08:00"),
        ("G20240301-0007", "open", None),
    ]


def test_dropped_requests_settle_as_failed_and_a_dropped_column_page_says_nothing() -> None:
    job = new_job("http://x.gov.cn/zcjd/", "政策解读")
    assert job.drop(job.first).fetches == []
    assert job.done
    assert job.items() == []
    job, pages = trs_job(max_pages=2, link_articles=0)
    job.drop(pages[0])
    assert job.done
    assert column_of(job.items()).pages_followed == 1
