"""Message boards as they are: board kinds from real names, lists and message pages in the real layouts,
answered / open / unknown, and the unanswered-message rule's boundaries.

Fixture structures (tests/fixtures/portal/board_*.html; texts invented, markup after the real pages):
- board_jms_*: 佳木斯 政民互动 (jms.gov.cn, as a public scraper reads it: ``ul#wszxList > li``, span 1
  holding the link, then type, unit, status, date; message page values in ``<span id=zxsj|state|conDept|
  replyTime|replyContent>`` after a label text).
- board_mt10_*: 大连 (xzfw.dl.gov.cn ``xjlb_N.jspx``: ``ul.mt10 > li`` of five links — number, title in a
  span, type, status, unit; no date; message page a table whose last row reads 反映时间 / 反馈时间).
- board_table_*: 珠海 12345 (``table.listAll`` rows under a header; message page ``table.detail`` of
  ``td.L`` label / ``td.R`` value pairs).
- board_div_list: a JSP 信箱 whose rows are ``div > ul > li`` cells (number, title, type, time, unit, status).
- board_dl_detail: dt/dd pairs, and ``span.label`` followed by a value span (an empty 答复时间 slot).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from parsel import Selector
from sqlite_utils import Database

from core.clock import CHINA_TZ, iso
from core.enums import AnswerState
from db import open_db
from db.migrations import migrations
from detection.rules.config import load_rules
from detection.rules.portal import UNANSWERED, UNKNOWN, judge_message
from spiders.portal import (
    MessageRow,
    build_message,
    classify_board,
    ensure_encoding,
    parse_message_detail,
    parse_message_list,
)
from spiders.portal.boards import BoardPager, board_labels, decide_answer, read_board_pager, status_state
from spiders.portal.columns import classify_column
from tests.helpers import fixture_response

AS_OF = datetime(2024, 6, 30, 12, 0, tzinfo=CHINA_TZ)
NATIONAL = load_rules().resolved("national")


def d(y: int, m: int, day: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, day, hh, mm, ss, tzinfo=CHINA_TZ)


def page(name: str, url: str = "http://www.mouxian.gov.cn/zmhd/") -> Selector:
    return ensure_encoding(fixture_response("portal", name, url)).selector


# --- kinds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "url", "kind"),
    [
        ("反映问题", "http://x/html/zmhd/page/jms_10030002_1.html", "consultation"),
        ("公众来信", "http://x/fgw/gzjl/xjlb_1.jspx", "consultation"),
        ("咨询投诉", "http://x/hd/zxts/", "consultation"),
        ("书记信箱", "http://x/a/", "consultation"),
        ("市长信箱", "http://x/ldxx/", "consultation"),
        ("县长信箱", "http://x/b/", "consultation"),
        ("领导信箱", "http://x/c/", "consultation"),
        ("网上咨询", "http://x/wszx/", "consultation"),
        ("政民互动", "http://x/d/", "consultation"),
        ("12345热线留言", "http://x/e/", "consultation"),
        ("网上信访", "http://x/xfts/", "petition"),
        ("信访投诉", "http://x/f/", "petition"),
        ("纪委书记信箱", "http://x/jw/", "discipline"),
        ("纪检监察举报", "http://x/g/", "discipline"),
        ("违纪举报", "http://x/h/", "discipline"),
        ("在线访谈", "http://x/ft/", "interview"),
        ("民意征集", "http://x/zj/", "survey"),
        ("网上调查", "http://x/i/", "survey"),
        ("其他", "http://x/q/", "other"),
    ],
)
def test_classify_board_real_names(name: str, url: str, kind: str) -> None:
    assert classify_board(name, url) == kind


def test_an_ambiguous_name_takes_the_board_page_s_own_labels() -> None:
    # 互动交流 says only "interaction": the page's ColumnType meta, then its headings, decide
    assert classify_board("互动交流", "http://x/hd/", "网上信访") == "petition"
    assert classify_board("互动交流", "http://x/hd/", None, ["在线访谈 第12期"]) == "interview"
    assert classify_board("留言", "http://x/hd/", None, ["民意调查"]) == "survey"
    assert classify_board("互动交流", "http://x/hd/") == "consultation"
    assert classify_board(None, "http://x/xfts/index.html") == "petition"
    # a name that says something specific is not overruled by a sidebar heading
    assert classify_board("市长信箱", "http://x/ldxx/", None, ["在线访谈"]) == "consultation"
    assert board_labels(page("board_jms_list.html")) == [
        "反映问题",
        "反映问题-政民互动-某市人民政府",
        "反映问题",
    ]


@pytest.mark.parametrize("name", ["反映问题", "公众来信", "咨询投诉", "12345热线留言", "县长信箱"])
def test_real_board_names_are_interaction_columns(name: str) -> None:
    assert classify_column(name=name, url="http://x/a/", column_type=None)[0] == "互动"


# --- status words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("已回复", "answered"),
        ("办理完毕", "answered"),
        ("已办结", "answered"),
        ("已处理", "answered"),
        ("已受理 已办结", "answered"),
        ("未回复", "open"),
        ("待处理", "open"),
        ("办理中", "open"),
        ("正在办理", "open"),
        ("已受理", "open"),
        ("未办结", "open"),
        ("待审查", "open"),
        ("", "unknown"),
        (None, "unknown"),
        ("公开", "unknown"),
    ],
)
def test_status_words(status: str | None, state: str) -> None:
    assert status_state(status) == state


@pytest.mark.parametrize(
    ("status", "answered", "reply", "expected"),
    [
        ("已回复", None, None, ("answered", None)),  # answered with no reply date shown
        ("办理完毕", None, "", ("answered", None)),
        ("已回复", d(2024, 1, 5), None, ("answered", d(2024, 1, 5))),
        ("未回复", None, None, ("open", None)),
        ("办理中", d(2024, 1, 5), None, ("open", None)),  # a date but no reply: still open
        ("办理中", d(2024, 1, 5), "您好，已转相关部门。", ("answered", d(2024, 1, 5))),
        (None, d(2024, 1, 5), None, ("answered", d(2024, 1, 5))),
        (None, None, "您好，现答复如下。", ("answered", None)),
        (None, None, "暂无回复", ("unknown", None)),
        (None, None, None, ("unknown", None)),  # an empty 答复时间 slot says nothing
    ],
)
def test_decide_answer(
    status: str | None, answered: datetime | None, reply: str | None, expected: tuple[str, datetime | None]
) -> None:
    assert decide_answer(status, answered, reply) == expected


# --- lists ----------------------------------------------------------------------------------------


def rows_of(name: str, url: str) -> list[tuple[object, ...]]:
    return [
        (r.title, r.category, r.unit, r.status, r.asked_at, r.message_id, r.url)
        for r in parse_message_list(page(name, url), url, AS_OF)
    ]


def test_jiamusi_list_unclassed_spans() -> None:
    url = "http://www.mouxian.gov.cn/html/zmhd/page/jms_10030002_1.html"
    rows = rows_of("board_jms_list.html", url)
    assert rows[0] == (
        "红旗街道供热管网漏水",
        "投诉",
        "市住房和城乡建设局",
        "未回复",
        d(2024, 6, 25),
        None,
        "http://www.mouxian.gov.cn/html/zmhd/detail/2024/06/25/1719301.html",
    )
    assert [r[3] for r in rows] == ["未回复", "办理中", "已回复", "办理完毕", "未回复"]
    assert len(rows) == 5  # the nav, tab and pager links are not rows


def test_dalian_mt10_list_of_links_without_dates() -> None:
    url = "http://xzfw.mouxian.gov.cn/fgw/gzjl/xjlb_1.jspx"
    rows = rows_of("board_mt10_list.html", url)
    assert rows == [
        (
            "关于公交线路调整的建议",
            "建议",
            "市交通运输局",
            "正在办理",
            None,
            "G20240612-0031",
            "http://xzfw.mouxian.gov.cn/fgw/gzjl/xjxq_81342.jspx",
        ),
        (
            "供暖费缴纳标准咨询",
            "咨询",
            "市发展和改革委员会",  # longer than the title: a unit's name is not taken for it
            "已办结",
            None,
            "G20240520-0007",
            "http://xzfw.mouxian.gov.cn/fgw/gzjl/xjxq_80977.jspx",
        ),
        (
            "企业开办补贴何时发放",
            "咨询",
            "市市场监督管理局",
            "已办结",
            None,
            "G20240302-0019",
            "http://xzfw.mouxian.gov.cn/fgw/gzjl/xjxq_79015.jspx",
        ),
    ]


def test_table_list_columns_by_header() -> None:
    url = "http://www.mouxian.gov.cn/hd/zxts/"
    rows = rows_of("board_table_list.html", url)
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [
        ("新生儿医保参保如何办理", "市医疗保障局", "处理中", d(2024, 6, 18)),
        ("人才住房补贴申请条件", "市人力资源和社会保障局", "已处理", d(2024, 5, 30)),
        ("老旧小区加装电梯补贴", None, None, d(2024, 2, 1)),  # empty cells: nothing said
    ]


def test_div_rows_of_li_cells() -> None:
    url = "http://www.mouxian.gov.cn/public/consultletter/letterlist"
    rows = rows_of("board_div_list.html", url)
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("关于农村低保申请的咨询", "咨询", "县民政局", "待处理", d(2024, 6, 14), "2024061400012"),
        ("乡道修缮建议", "建议", "县交通运输局", "已回复", d(2024, 5, 28), "2024052800037"),
    ]


def test_a_link_around_the_whole_row_and_labelled_cells() -> None:
    sel = Selector(
        text='<html><body><ul class="lyb">'
        '<li><a href="/ly/1.html"><span class="t">门诊报销比例咨询</span><span>回复状态：已回复</span>'
        "<span>留言时间：2024-05-02</span></a></li>"
        '<li><a href="/ly/2.html"><span class="t">噪音扰民</span><span>回复状态：未回复</span>'
        "<span>留言时间：2024-05-09</span></a></li></ul></body></html>"
    )
    rows = parse_message_list(sel, "http://x.gov.cn/ly/", AS_OF)
    assert [(r.title, r.status, r.asked_at, r.url) for r in rows] == [
        ("门诊报销比例咨询", "已回复", d(2024, 5, 2), "http://x.gov.cn/ly/1.html"),
        ("噪音扰民", "未回复", d(2024, 5, 9), "http://x.gov.cn/ly/2.html"),
    ]


def test_a_page_with_only_navigation_has_no_message_rows() -> None:
    sel = Selector(
        text='<html><body><ul class="sub"><li><a href="/a/">市长信箱</a></li>'
        '<li><a href="/b/">在线访谈</a></li></ul><p>暂无信息</p></body></html>'
    )
    assert parse_message_list(sel, "http://x.gov.cn/", AS_OF) == []


def test_board_pager_next_link_page_count_and_script_pages() -> None:
    url = "http://www.mouxian.gov.cn/html/zmhd/page/jms_10030002_1.html"
    pager = read_board_pager(page("board_jms_list.html", url), url, 1)
    assert (pager.next_url, pager.pages_said) == (
        "http://www.mouxian.gov.cn/html/zmhd/page/jms_10030002_2.html",
        387,
    )
    numbered = Selector(
        text='<html><body><div class="page">第1/12页 <a href="?p=2">2</a></div></body></html>'
    )
    # no 下一页: the board has more pages and no link we follow leads there
    assert read_board_pager(numbered, "http://x.gov.cn/ly/", 1) == BoardPager(None, 12)
    trs = Selector(text='<html><body><script>createPageHTML(4, 0, "index", "shtml");</script></body></html>')
    assert read_board_pager(trs, "http://x.gov.cn/hd/", 1).next_url == "http://x.gov.cn/hd/index_1.shtml"
    assert read_board_pager(trs, "http://x.gov.cn/hd/", 3).next_url == "http://x.gov.cn/hd/index_3.shtml"
    assert read_board_pager(trs, "http://x.gov.cn/hd/", 4) == BoardPager(None, 4)
    assert read_board_pager(Selector(text="<html><body></body></html>"), "http://x/", 1) == BoardPager(
        None, None
    )


# --- message pages --------------------------------------------------------------------------------


def test_jiamusi_label_then_span_detail_answered_without_a_reply_date() -> None:
    detail = parse_message_detail(page("board_jms_detail_answered_undated.html"))
    assert detail == {
        "asked_at": "2024-03-11 08:42:17",
        "title": "退休人员医保待遇问题",
        "category": "咨询",
        "status": "已回复",
        "unit": "市医疗保障局",
    }  # 处理时间 and 处理结果 are empty spans: no value, not the next label
    row = MessageRow(
        "http://www.mouxian.gov.cn/html/zmhd/detail/2024/03/11/1711027.html",
        "退休人员医保待遇问题",
        status="已回复",
        asked_at=d(2024, 3, 11),
    )
    msg = build_message(row, detail, target_id=1, board_url=row.url, board_kind="consultation", as_of=AS_OF)
    assert (msg.answer_state, msg.answered_at, msg.asked_at) == (
        "answered",
        None,
        "2024-03-11T08:42:17+08:00",
    )
    assert msg.message_id == "1711027"


def test_jiamusi_open_detail() -> None:
    detail = parse_message_detail(page("board_jms_detail_open.html"))
    assert (detail["status"], detail["asked_at"]) == ("未回复", "2024-02-10 19:05:33")
    assert "answered_at" not in detail
    assert "reply_text" not in detail


def test_dalian_table_cells_with_label_and_value_text() -> None:
    detail = parse_message_detail(page("board_mt10_detail.html"))
    assert detail["asked_at"] == "2024-03-02 10:26:41"
    assert detail["answered_at"] == "2024-03-08 15:02:09"
    # 答复内容 heads its own row; the value is the next row's cell
    assert detail["reply_text"].startswith("您好，企业开办补贴")


def test_zhuhai_td_label_td_value_pairs_with_empty_values() -> None:
    detail = parse_message_detail(page("board_table_detail.html"))
    assert detail == {"title": "老旧小区加装电梯补贴", "asked_at": "2024-02-01 14:20"}
    row = MessageRow(
        "http://x/hd/zxts/content/post_3702645.html", "老旧小区加装电梯补贴", asked_at=d(2024, 2, 1)
    )
    msg = build_message(
        row, detail, target_id=1, board_url="http://x/hd/zxts/", board_kind="consultation", as_of=AS_OF
    )
    assert msg.answer_state == "unknown"  # no status word, no reply date: no conclusion


def test_dt_dd_pairs_and_a_span_label_before_an_empty_value() -> None:
    detail = parse_message_detail(page("board_dl_detail.html"))
    assert detail == {
        "message_id": "2024061400012",
        "asked_at": "2024年06月14日 09:18",
        "status": "待处理",
        "unit": "县民政局",
        "reply_text": "暂无回复",
    }
    row = MessageRow("http://x/letterdetail?id=9931", "关于农村低保申请的咨询")
    msg = build_message(
        row, detail, target_id=1, board_url="http://x/", board_kind="consultation", as_of=AS_OF
    )
    assert (msg.answer_state, msg.reply_text, msg.message_id) == ("open", None, "2024061400012")


@pytest.mark.parametrize(
    "markup",
    [
        "<p>答复时间：2024-01-05 16:00</p>",
        "<table><tr><th>答复时间</th><td>2024-01-05 16:00</td></tr></table>",
        '<table><tr><td class="L">答复时间</td><td class="R">2024-01-05 16:00</td></tr></table>',
        '<div><span class="label">答复时间</span><span>2024-01-05 16:00</span></div>',
        "<dl><dt>答复时间：</dt><dd>2024-01-05 16:00</dd></dl>",
        '<p>答复时间：<span id="x">2024-01-05 16:00</span></p>',
        "<p><strong>答复时间：</strong>2024-01-05 16:00</p>",
        "<table><tr><td><b>答 复 时 间：</b></td><td>2024-01-05 16:00</td></tr></table>",
        "<p>来信时间：2024-01-02 09:00 答复时间：2024-01-05 16:00</p>",
    ],
)
def test_a_label_value_pair_in_every_common_layout(markup: str) -> None:
    assert parse_message_detail(Selector(text=f"<html><body>{markup}</body></html>"))["answered_at"] == (
        "2024-01-05 16:00"
    )


# --- the rule -------------------------------------------------------------------------------------


def message(days: float, state: str, answered_days: float | None = None, kind: str = "consultation") -> dict:
    asked = AS_OF - timedelta(days=days)
    return {
        "message_id": "m",
        "board_kind": kind,
        "asked_at": iso(asked),
        "answered_at": iso(asked + timedelta(days=answered_days)) if answered_days is not None else None,
        "answer_state": state,
    }


LIMIT_DAYS = (AS_OF - datetime(2024, 3, 30, 12, 0, tzinfo=CHINA_TZ)).days  # 3 months before 2024-06-30


@pytest.mark.parametrize(
    ("msg", "verdict"),
    [
        (message(120, "open"), UNANSWERED),
        (message(LIMIT_DAYS + 0.01, "open"), UNANSWERED),  # just past the limit
        (message(LIMIT_DAYS, "open"), None),  # exactly the limit: not yet more than 3 months
        (message(120, "answered"), None),  # 已回复, no reply date shown: answered
        (message(200, "answered", 100), UNANSWERED),  # answered, but later than the limit
        (message(200, "answered", 10), None),
        (message(200, "unknown", 10), None),  # a reply date is an answer whatever the status
        (message(120, "unknown"), UNKNOWN),  # no status word, no reply date: no conclusion
        (message(30, "unknown"), None),  # too recent to count at all
        (message(400, "open"), None),  # outside the year before the check
        (message(120, "open", kind="petition"), None),  # 信访 is excluded by the indicator
        (message(120, "open", kind="discipline"), None),
    ],
)
def test_judge_message(msg: dict, verdict: str | None) -> None:
    assert judge_message(msg, NATIONAL, AS_OF) == verdict


def test_every_answer_state_is_a_closed_set_member() -> None:
    assert {s.value for s in AnswerState} == {"answered", "open", "unknown"}


# --- stored messages ------------------------------------------------------------------------------


def test_stored_messages_before_answer_state_are_judged_by_what_they_hold(tmp_path: Path) -> None:
    raw = Database(tmp_path / "old.db")
    migrations.apply(raw, stop_before="m080_message_answer_state")
    raw["targets"].insert({"id": 1, "platform": "portal", "key": "k", "name": "n"})
    for mid, answered in (("a", "2024-01-05T16:00:00+08:00"), ("b", None), ("c", "")):
        raw["messages"].insert({"target_id": 1, "message_id": mid, "answered_at": answered})
    raw.close()
    db = open_db(tmp_path / "old.db")
    states = dict(db.execute("SELECT message_id, answer_state FROM messages ORDER BY message_id").fetchall())
    # an empty reply date used to mean "open": it concludes nothing until the board is read again
    assert states == {"a": "answered", "b": "unknown", "c": "unknown"}
    assert {"board_kind", "oldest_item_at", "truncated"} <= set(db["columns"].columns_dict)
