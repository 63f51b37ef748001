"""A busy message board through its ColumnJob: paged until a message is older than the rule's horizon,
the page cap recorded as truncated, an undated list dated by its last message, details only for the
messages that matter — then the unanswered-message rule on what the job gave.

The boards are built to the real shapes: 佳木斯's list (ul#wszxList > li > five unclassed spans: title
link, type, unit, status, date) and message page (label text followed by a value <span id=…>, an
已回复 status with an empty 处理时间); 大连's list (ul.mt10 > li > five links: number, title, type,
status, unit — no date) and its message page (a table whose cells read '反映时间：…').
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse, Request

from core.clock import CHINA_TZ, iso
from core.enums import CheckKind, ColumnStatus
from core.items import ColumnItem, MessageItem
from db import open_db
from db.portal import load_unsettled_messages
from detection.rules.config import load_rules
from detection.rules.portal import evaluate_portal
from spiders.portal.boards import MessageRow
from spiders.portal.columns import DEFAULT_COLUMN_RULES, ColumnRef
from spiders.portal.jobs import ColumnJob, Fetch, Limits, Step, message_horizon
from spiders.portal.links import site_root

AS_OF = datetime(2024, 6, 30, 12, 0, tzinfo=CHINA_TZ)
NATIONAL = load_rules().resolved("national")
HORIZON = message_horizon(NATIONAL, AS_OF, 31)
SITE = "http://www.mouxian.gov.cn/"
JMS = f"{SITE}html/zmhd/page/"
PER_PAGE = 15


@dataclass(frozen=True)
class Letter:
    n: int
    asked: datetime
    status: str
    reply_shown: bool = False  # the message page shows its reply date

    @property
    def url(self) -> str:
        return f"{SITE}html/zmhd/detail/{self.asked:%Y/%m/%d}/{1700000 + self.n}.html"

    @property
    def title(self) -> str:
        return f"反映问题第{self.n}号"


def busy_board(pages: int, *, open_at: tuple[int, ...] = (), step_days: float = 1.42) -> list[Letter]:
    """Newest first, one letter every ``step_days``; every letter 已回复 (no reply date on its page) but
    the ones at ``open_at``."""
    return [
        Letter(
            n,
            (AS_OF - timedelta(days=2 + n * step_days)).replace(second=0, microsecond=0),
            "未回复" if n in open_at else "已回复",
        )
        for n in range(pages * PER_PAGE)
    ]


def html(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode(), encoding="utf-8", request=Request(url))


def jms_list(number: int, letters: list[Letter], *, dated: bool = True) -> HtmlResponse:
    rows = letters[(number - 1) * PER_PAGE : number * PER_PAGE]
    last = -(-len(letters) // PER_PAGE)
    lis = "".join(
        f'<li><span><a href="{x.url}" target="_blank">{x.title}</a></span><span>投诉</span>'
        f"<span>市住房和城乡建设局</span><span>{x.status}</span>"
        f"<span>{f'{x.asked:%Y-%m-%d}' if dated else ''}</span></li>"
        for x in rows
    )
    pager = f'<a href="jms_10030002_{number + 1}.html">下一页</a>' if number < last else "<span>下一页</span>"
    return html(
        f"{JMS}jms_10030002_{number}.html",
        '<html><head><meta name="ColumnName" content="反映问题"></head><body>'
        '<div class="position">当前位置：首页 &gt; 政民互动 &gt; 反映问题</div>'
        f'<ul id="wszxList">{lis}</ul><div class="page">{pager}</div></body></html>',
    )


def jms_detail(x: Letter) -> HtmlResponse:
    reply = f"{x.asked + timedelta(days=3):%Y-%m-%d %H:%M:%S}" if x.reply_shown else ""
    return html(
        x.url,
        '<html><body><div class="xjxq_con">'
        f'<p>咨询时间：<span id="zxsj">{x.asked:%Y-%m-%d %H:%M:%S}</span></p>'
        f'<p>信件标题：<span id="title">{x.title}</span></p>'
        f'<p>处理情况：<span id="state">{x.status}</span></p></div>'
        '<div class="xjxq_con"><p>承办单位：<span id="conDept">市住房和城乡建设局</span></p>'
        f'<p>处理时间：<span id="replyTime">{reply}</span></p>'
        '<p>处理结果：<span id="replyContent"></span></p>'
        "</div></body></html>",
    )


def new_board(recheck: tuple[MessageRow, ...] = (), **limits: int) -> ColumnJob:
    url = f"{JMS}jms_10030002_1.html"
    return ColumnJob(
        target={"id": 7, "url": SITE},
        col=ColumnRef(url, "反映问题", "nav"),
        rules=DEFAULT_COLUMN_RULES,
        root=site_root(SITE),
        limits=Limits(**limits),
        as_of=AS_OF,
        horizon=HORIZON,
        recheck=recheck,
    )


Answer = Callable[[Fetch], HtmlResponse | None]


def run(job: ColumnJob, first: HtmlResponse, answer: Answer) -> list[list[Fetch]]:
    """Settle the column page, then every fetch it leads to in order; the batches of fetches asked."""
    batches = [job.settle(job.first, first).fetches]
    queue = list(batches[0])
    while queue:
        fetch = queue.pop(0)
        more = job.settle(fetch, answer(fetch)).fetches
        if more:
            batches.append(more)
        queue += more
    assert job.done
    return batches


def answer_jms(letters: list[Letter], *, dated: bool = True, failed: set[str] = frozenset()) -> Answer:  # type: ignore[assignment]
    by_url = {x.url: x for x in letters}

    def answer(fetch: Fetch) -> HtmlResponse | None:
        if fetch.url in failed:
            return None
        if fetch.step is Step.BOARD_PAGE:
            return jms_list(int(fetch.url.rsplit("_", 1)[1].split(".")[0]), letters, dated=dated)
        return jms_detail(by_url[fetch.url])

    return answer


def split(items: list[Any]) -> tuple[ColumnItem, list[MessageItem]]:
    column, *messages = items
    assert isinstance(column, ColumnItem)
    assert all(isinstance(m, MessageItem) for m in messages)
    return column, messages  # type: ignore[return-value]


def judge(column: ColumnItem, messages: list[MessageItem]) -> Any:
    """The portal rules on what the job gave, as detection reads the stored rows."""
    return evaluate_portal(
        NATIONAL,
        as_of=AS_OF,
        probes={"probes": 1, "failed": 0, "latest_ok": 1},
        site={
            "homepage_url": SITE,
            "homepage_items": 0,
            "site_id_code": "2308000001",
            "site_id_code_valid": 1,
        },
        columns=[vars(column)],
        dead_links=[],
        messages=[vars(m) for m in messages],
    )


def test_the_horizon_follows_the_rules_file() -> None:
    # portal.unanswered_message.months before as_of, less the margin
    assert HORIZON.judge_before == datetime(2024, 3, 30, 12, 0, tzinfo=CHINA_TZ)
    assert HORIZON.reach == HORIZON.judge_before - timedelta(days=31)
    three = {**NATIONAL, "portal.unanswered_message": {**NATIONAL["portal.unanswered_message"], "months": 6}}
    assert message_horizon(three, AS_OF, 0).judge_before == datetime(2023, 12, 30, 12, 0, tzinfo=CHINA_TZ)


def test_a_four_month_old_open_message_on_page_six_is_found_and_answered_ones_are_not_vetoes() -> None:
    letters = busy_board(10, open_at=(85,))
    assert letters[85].asked < AS_OF - timedelta(days=120)  # 4 months old, on page 6
    assert 75 <= 85 < 90
    job = new_board()
    batches = run(job, jms_list(1, letters), answer_jms(letters))
    pages = [f for batch in batches for f in batch if f.step is Step.BOARD_PAGE]
    # one page at a time, up to page 6: it shows a letter older than the horizon, so page 7 is not asked
    assert [(f.index, f.url.rsplit("/", 1)[1]) for f in pages] == [
        (n, f"jms_10030002_{n + 1}.html") for n in range(1, 6)
    ]
    assert all(len(batch) == 1 for batch in batches[:5])
    details = [f for batch in batches for f in batch if f.step is Step.MESSAGE]
    # only letters old enough to judge are opened: the open one first, then the answered ones (late?)
    old = [x for x in letters[:90] if x.asked < HORIZON.judge_before + timedelta(days=1)]
    assert details[0].url == letters[85].url
    assert {f.url for f in details} == {x.url for x in old}
    assert {f.kind for f in details} == {CheckKind.PAGE}
    column, messages = split(job.items())
    assert (column.status, column.pages_followed, column.item_count, column.truncated) == (
        ColumnStatus.OK,
        6,
        90,
        0,
    )
    assert column.board_kind == "consultation"
    assert column.oldest_item_at == iso(letters[89].asked)  # opened: its page gives the time too
    states = {m.url: (m.answer_state, m.answered_at) for m in messages}
    assert states[letters[85].url] == ("open", None)
    # 已回复 on the page, 处理时间 empty: answered, reply date unknown
    assert {states[x.url] for x in old if x.n != 85} == {("answered", None)}
    result = judge(column, messages)
    assert [(f.rule, f.subject) for f in result.findings] == [
        ("portal.unanswered_message", messages[85].message_id)
    ]
    assert result.findings[0].evidence["answer_state"] == "open"
    assert result.coverage == "read"


def test_the_page_cap_when_hit_is_recorded_as_truncated_and_the_check_is_partial() -> None:
    letters = busy_board(10, open_at=(85,))
    job = new_board(board_pages=4)
    batches = run(job, jms_list(1, letters), answer_jms(letters))
    assert max(f.index for batch in batches for f in batch if f.step is Step.BOARD_PAGE) == 3
    column, messages = split(job.items())
    assert (column.pages_followed, column.item_count, column.truncated) == (4, 60, 1)
    assert column.oldest_item_at is not None
    assert column.oldest_item_at > iso(HORIZON.reach)  # the pages read never reached the horizon
    result = judge(column, messages)
    assert result.findings == []  # the open letter on page 6 was never seen: nothing to say about it
    assert result.coverage == "partial"
    assert "留言板未读完" in result.reason
    assert column.url in result.reason


def test_a_failed_board_page_is_truncated_too() -> None:
    letters = busy_board(10)
    job = new_board()
    run(job, jms_list(1, letters), answer_jms(letters, failed={f"{JMS}jms_10030002_3.html"}))
    column, _ = split(job.items())
    assert (column.pages_followed, column.item_count, column.truncated) == (2, 30, 1)


def test_pages_the_board_says_it_has_but_no_link_reaches_are_truncated() -> None:
    letters = busy_board(3)
    first = jms_list(1, letters)
    numbered = first.replace(
        body=first.text.replace("下一页", "2").replace("</ul>", "</ul><p>共 3 页</p>").encode()
    )
    job = new_board()
    assert job.settle(job.first, numbered).fetches == []  # no 下一页, no script pages: nothing to follow
    column, _ = split(job.items())
    assert (column.pages_followed, column.truncated) == (1, 1)


def test_the_last_page_ends_a_board_that_never_reaches_the_horizon() -> None:
    letters = busy_board(2, step_days=1)
    job = new_board()
    run(job, jms_list(1, letters), answer_jms(letters))
    column, messages = split(job.items())
    assert (column.pages_followed, column.item_count, column.truncated) == (2, 30, 0)
    assert judge(column, messages).coverage == "read"


def test_an_undated_list_is_dated_by_opening_each_page_s_last_message() -> None:
    letters = busy_board(10)
    job = new_board()
    batches = run(job, jms_list(1, letters, dated=False), answer_jms(letters, dated=False))
    # page 1, then its last letter's page, then page 2, its last letter… until a last letter is older
    # than the horizon (page 6's), then the letters that matter
    order = [(f.step, f.index) for batch in batches for f in batch]
    paging = [x for n in range(1, 7) for x in ((Step.MESSAGE, n * PER_PAGE - 1), (Step.BOARD_PAGE, n))]
    assert order[:11] == paging[:11]
    assert all(step is Step.MESSAGE for step, _ in order[11:])
    column, messages = split(job.items())
    assert (column.pages_followed, column.truncated) == (6, 0)
    opened = [f for batch in batches for f in batch if f.step is Step.MESSAGE]
    assert len(opened) == Limits().max_messages  # every row was undated: the cap decides
    assert column.undated_count == 90 - len(opened)
    assert messages[89].asked_at == iso(letters[89].asked)


def test_details_within_the_cap_go_to_the_messages_that_can_be_vetoes_first() -> None:
    letters = busy_board(6, open_at=(70, 80))
    letters = [replace(x, status="") if x.n in (72, 73) else x for x in letters]
    job = new_board(max_messages=4)
    batches = run(job, jms_list(1, letters), answer_jms(letters))
    opened = [f.url for batch in batches for f in batch if f.step is Step.MESSAGE]
    # old enough and not answered by the row (open, or no status word), oldest first; then the cap
    assert opened == [letters[n].url for n in (80, 73, 72, 70)]
    assert job.reader is not None
    assert job.reader.capped > 0  # type: ignore[union-attr]


def test_messages_an_earlier_run_left_open_are_opened_again_when_no_longer_listed() -> None:
    letters = busy_board(12)  # pages 7-12 are past the horizon: never listed this time
    answered_since = letters[150]  # open last time; its page now says 已回复
    gone = letters[160]  # open last time; its page does not come back
    listed = letters[3]  # open last time, listed again on page 1
    known = tuple(
        MessageRow(x.url, x.title, asked_at=x.asked, message_id=f"M{x.n}")
        for x in (answered_since, gone, listed)
    )
    job = new_board(recheck=known)
    batches = run(job, jms_list(1, letters), answer_jms(letters, failed={gone.url}))
    opened = [f.url for batch in batches for f in batch if f.step is Step.MESSAGE]
    assert opened[:2] == [answered_since.url, gone.url]  # first: they were potential vetoes
    column, messages = split(job.items())
    assert column.item_count == 90  # what the list pages showed
    by_url = {m.url: m for m in messages}
    assert len(by_url) == len(messages) == 91
    again = by_url[answered_since.url]
    assert (again.message_id, again.answer_state, again.status) == ("M150", "answered", "已回复")
    assert gone.url not in by_url  # nothing read: the stored row stays as it was


def test_unsettled_messages_are_the_open_and_unknown_ones_of_the_window(tmp_path: Path) -> None:
    db = open_db(tmp_path / "monitor.db")
    db["targets"].insert({"id": 1, "platform": "portal", "key": "k", "name": "n"})
    for mid, asked, state in (
        ("open", "2024-03-01T09:00:00+08:00", "open"),
        ("unknown", "2024-03-02T09:00:00+08:00", "unknown"),
        ("answered", "2024-03-03T09:00:00+08:00", "answered"),
        ("old", "2023-01-01T09:00:00+08:00", "open"),
    ):
        db["messages"].insert(
            {
                "target_id": 1,
                "board_url": "http://x/b/",
                "message_id": mid,
                "url": f"http://x/b/{mid}.html",
                "asked_at": asked,
                "answer_state": state,
            }
        )
    found = load_unsettled_messages(db, [1], since="2023-07-01T00:00:00+08:00")
    assert [m["message_id"] for m in found[(1, "http://x/b/")]] == ["open", "unknown"]
    assert load_unsettled_messages(db, [], since="2023-07-01T00:00:00+08:00") == {}
