"""Message boards (领导信箱, 网上信访, 在线咨询): the board's kind, its list rows, each message's page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from parsel import Selector

from core.clock import iso
from core.items import MessageItem
from core.text import clean_text
from spiders.portal.links import absolute_url, attr
from spiders.portal.lists import EMPTY_TEXT, parse_list_date

BOARD_KINDS = (
    ("petition", r"信访"),
    ("discipline", r"纪检|纪委|监察|检举|举报"),
    ("interview", r"访谈"),
    ("survey", r"调查|征集|意见征求"),
    ("consultation", r"信箱|咨询|留言|问政|互动|建言|诉求|热线|xjxx|ldxx|wszx|liuyan|mailbox"),
)


def classify_board(name: str | None, url: str, column_type: str | None = None) -> str:
    """consultation / petition 信访 / discipline 纪检举报 / interview / survey / other."""
    text = f"{column_type or ''} {name or ''} {url}"
    for kind, pattern in BOARD_KINDS:
        if re.search(pattern, text):
            return kind
    return "other"


ASKED_LABELS = r"来信时间|咨询时间|反映时间|留言时间|提问时间|写信时间|提交时间"
ANSWERED_LABELS = r"答复时间|回复时间|处理时间|反馈时间|办结时间"
DETAIL_FIELDS = {
    "message_id": r"信件编号|留言编号|编号|受理编号",
    "asked_at": ASKED_LABELS,
    "answered_at": ANSWERED_LABELS,
    "status": r"办理状态|状态|处理状态",
    "category": r"信件类型|留言类型|类型|类别",
    "unit": r"答复单位|答复部门|承办单位|办理单位|处理单位",
    "reply_text": r"答复内容|回复内容|处理结果|答复意见",
    "title": r"信件标题|留言标题|标题|主题",
}
OPEN_STATUS = re.compile(r"未回复|未答复|待处理|正在办理|办理中|待审查|已受理|待回复")


@dataclass
class MessageRow:
    url: str
    title: str | None
    category: str | None = None
    unit: str | None = None
    status: str | None = None
    asked_at: datetime | None = None


def parse_message_list(sel: Selector, base: str, as_of: datetime) -> list[MessageRow]:
    """Rows of a board list: spans named by class (type, unit, status, date), as 佳木斯-style boards."""
    rows = []
    for node in sel.xpath(
        "//ul[re:test(concat(@class, ' ', @id), 'msg|list|xx|zx|letter', 'i')]/li | "
        "//table[re:test(concat(@class, ' ', @id), 'msg|list|xx|letter', 'i')]//tr[td]"
    ):
        link = node.xpath(".//a[@href]")
        if not link:
            continue
        url = absolute_url(base, attr(link[0], "href"))
        if not url:
            continue

        def cls(pattern: str, node: Selector = node) -> str | None:
            value = node.xpath(f".//*[re:test(@class, '{pattern}', 'i')][not(self::a)]//text()").getall()
            return clean_text(" ".join(value)) or None

        date_text = cls("date|time|sj")
        rows.append(
            MessageRow(
                url=url,
                title=clean_text(attr(link[0], "title") or " ".join(link[0].xpath(".//text()").getall()))
                or None,
                category=cls("type|category|lx"),
                unit=cls("unit|dept|bm"),
                status=cls("status|state|zt"),
                asked_at=parse_list_date(date_text, as_of),
            )
        )
    return rows


def parse_message_detail(sel: Selector) -> dict[str, str]:
    """Label → value pairs of a message page (table th/td rows, or 'label：value' lines)."""
    pairs: dict[str, str] = {}
    for row in sel.xpath("//tr[th and td] | //dl[dt and dd]"):
        label = clean_text(" ".join(row.xpath("./th//text() | ./dt//text()").getall())).rstrip("：:")
        value = clean_text(" ".join(row.xpath("./td//text() | ./dd//text()").getall()))
        pairs.setdefault(label, value)
    for line in sel.xpath("//body//text()[not(ancestor::script)]").getall():
        m = re.match(r"\s*([\u4e00-\u9fa5]{2,6})\s*[：:]\s*(.+)", line)
        if m:
            pairs.setdefault(m[1], m[2].strip())
    out: dict[str, str] = {}
    for key, pattern in DETAIL_FIELDS.items():
        for label, value in pairs.items():
            if re.fullmatch(pattern, label) and value:
                out.setdefault(key, value)
    return out


def message_id_from_url(url: str) -> str:
    query = parse_qs(urlsplit(url).query)
    for key in ("id", "msgid", "messageId", "letterid", "guid"):
        if key in query:
            return query[key][-1]
    return urlsplit(url).path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def build_message(
    row: MessageRow,
    detail: dict[str, str],
    *,
    target_id: int,
    board_url: str,
    board_kind: str,
    as_of: datetime,
) -> MessageItem:
    asked = parse_list_date(detail.get("asked_at"), as_of) or row.asked_at
    answered = parse_list_date(detail.get("answered_at"), as_of)
    status = detail.get("status") or row.status
    if status and OPEN_STATUS.search(status) and not detail.get("reply_text"):
        answered = None
    return MessageItem(
        target_id=target_id,
        board_url=board_url,
        board_kind=board_kind,
        message_id=detail.get("message_id") or message_id_from_url(row.url),
        url=row.url,
        title=detail.get("title") or row.title,
        category=detail.get("category") or row.category,
        unit=detail.get("unit") or row.unit,
        status=status,
        asked_at=iso(asked) if asked else None,
        answered_at=iso(answered) if answered else None,
        reply_text=detail.get("reply_text"),
    )


def is_board_empty(sel: Selector) -> bool:
    """The board page says it holds no message (暂无信息…): an empty board, not a page we cannot read."""
    return bool(EMPTY_TEXT.search(" ".join(sel.xpath("//body//text()").getall())))
