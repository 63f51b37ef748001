"""Message boards (领导信箱, 网上信访, 在线咨询): the board's kind, its list rows, each message's page, and
whether a message was answered.

A list is found by its shape, not by a class: the repeated sibling rows (li, tr, div…) that hold a link
and a date or a status word. A detail page is read as label/value pairs in any layout (spiders/portal/
labels.py). A status word that says answered is an answer even when no reply date is shown; a message
with neither a status word nor a reply date is of unknown state — never taken for an open one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from parsel import Selector

from core.clock import iso
from core.dates import strip_dates
from core.enums import AnswerState, BoardKind
from core.items import MessageItem
from core.text import clean_text
from spiders.portal.labels import Labels, compact, label_values
from spiders.portal.links import absolute_url
from spiders.portal.lists import (
    EMPTY_TEXT,
    is_container_excluded,
    next_page_url,
    parse_list_date,
    trs_page_urls,
)
from spiders.portal.meta import meta_content

# --- the board's kind -----------------------------------------------------------------------------

# Words that name one kind, checked in this order within each label (纪委书记信箱 is discipline, not a
# 书记信箱); a generic word (信箱, 留言, 互动) says consultation only when no label of the board says more.
SPECIFIC_KINDS: tuple[tuple[BoardKind, str], ...] = (
    (BoardKind.PETITION, r"信访"),
    (BoardKind.DISCIPLINE, r"纪检|纪委|监委|监察|检举|举报|违纪|廉政"),
    (BoardKind.INTERVIEW, r"访谈"),
    (BoardKind.SURVEY, r"调查|征集|征求|问卷"),
    (
        BoardKind.CONSULTATION,
        r"咨询|投诉|诉求|反映|来信|建言|建议|求助|问政|热线|12345|政民互动|"
        r"(书记|市长|县长|区长|州长|盟长|旗长|乡长|镇长|局长|厅长|主任|领导)(信箱|留言|之窗)",
    ),
)
SPECIFIC_URL_KINDS: tuple[tuple[BoardKind, str], ...] = (
    (BoardKind.PETITION, r"/(wsxf|xfts|xinfang|xf)(/|\.|_|$)"),
    (BoardKind.DISCIPLINE, r"/(jjjc|jubao|jwjc|jb)(/|\.|_|$)"),
    (BoardKind.INTERVIEW, r"/(zxft|fangtan|ft)(/|\.|_|$)"),
    (BoardKind.SURVEY, r"/(myzj|zjdc|zqyj|diaocha|survey|wsdc)(/|\.|_|$)"),
    (BoardKind.CONSULTATION, r"/(ldxx|szxx|sjxx|xzxx|qzxx|wszx|zxts|xjxx|12345|fywt|gzlx)(/|\.|_|$)"),
)
GENERIC_CONSULTATION = r"信箱|留言|互动|交流|mailbox|liuyan|hdjl|zmhd"


def classify_board(
    name: str | None, url: str, column_type: str | None = None, labels: Iterable[str] = ()
) -> BoardKind:
    """consultation / petition 信访 / discipline 纪检举报 / interview / survey / other.

    The board's name decides; when it says nothing specific, the board page's own labels do (its
    ColumnType meta, then its headings), then its URL.
    """
    texts = [t for t in (name, column_type, *labels) if t]
    for text in texts:
        for kind, pattern in SPECIFIC_KINDS:
            if re.search(pattern, text):
                return kind
    for kind, pattern in SPECIFIC_URL_KINDS:
        if re.search(pattern, urlsplit(url).path, re.I):
            return kind
    if any(re.search(GENERIC_CONSULTATION, t, re.I) for t in [*texts, urlsplit(url).path]):
        return BoardKind.CONSULTATION
    return BoardKind.OTHER


def board_labels(sel: Selector) -> list[str]:
    """What the board page calls itself: its ColumnName meta, <title>, headings, the crumb's last step."""
    out = [meta_content(sel, "ColumnName") or ""]
    out += sel.xpath("//title/text()").getall()[:1]
    out += [" ".join(h.xpath(".//text()").getall()) for h in sel.xpath("//h1 | //h2 | //h3")[:6]]
    crumb = sel.xpath("//*[re:test(concat(@class, ' ', @id), 'crumb|position|location|dqwz', 'i')]//text()")
    out += [t for t in crumb.getall() if t.strip()][-1:]
    labels = (clean_text(t).lstrip(">＞›» ") for t in out)
    return [t for t in labels if t and len(t) <= 40]


# --- status words ---------------------------------------------------------------------------------

OPEN_WORDS = re.compile(
    r"未回复|未答复|未办结|未处理|未反馈|未完成|未办理|待回复|待答复|待处理|待办理|待审核|待审查|待受理|待分办|"
    r"正在办理|正在处理|办理中|处理中|受理中|已受理|已转办|转办中|已交办|交办中|审核中"
)
ANSWERED_WORDS = re.compile(
    r"已回复|已答复|已办结|办结|办理完毕|处理完毕|答复完毕|回复完毕|已处理|已反馈|已解决|已完成|已回应|已办理|已处置"
)
NO_REPLY = re.compile(r"^[\s\-—/／无]*$|^(暂|尚|还)?(无|未|没有)(回复|答复|反馈|处理|内容|结果)")


def status_state(status: str | None) -> AnswerState:
    """What a status word says: answered, open, or unknown (no word, or a word not known)."""
    text = status or ""
    if ANSWERED_WORDS.search(OPEN_WORDS.sub(" ", text)):  # 未办结 is open, 已受理 then 已办结 answered
        return AnswerState.ANSWERED
    return AnswerState.OPEN if OPEN_WORDS.search(text) else AnswerState.UNKNOWN


def has_reply(reply_text: str | None) -> bool:
    return bool(reply_text) and not NO_REPLY.search(compact(reply_text))


def decide_answer(
    status: str | None, answered_at: datetime | None, reply_text: str | None
) -> tuple[AnswerState, datetime | None]:
    """(answer state, reply date to record) from what the board shows.

    A status that says answered is an answer, reply date or not. An open status stays open unless the
    page shows a reply with its date. Without a status word, a reply date or a reply text is an answer,
    and nothing at all is UNKNOWN: an empty 答复时间 slot is not evidence that nobody answered.
    """
    state = status_state(status)
    if state is AnswerState.ANSWERED:
        return state, answered_at
    if state is AnswerState.OPEN:
        if answered_at is not None and has_reply(reply_text):
            return AnswerState.ANSWERED, answered_at
        return state, None
    if answered_at is not None or has_reply(reply_text):
        return AnswerState.ANSWERED, answered_at
    return AnswerState.UNKNOWN, None


# --- list rows ------------------------------------------------------------------------------------

# Labels of the fields a message page (or a list cell) names, as boards word them.
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "message_id": ("信件编号", "留言编号", "编号", "受理编号", "信件号", "诉求编号"),
    "asked_at": (
        *("来信时间", "来信日期", "咨询时间", "咨询日期", "反映时间", "留言时间", "留言日期", "提问时间"),
        *("写信时间", "提交时间", "投诉时间", "诉求时间", "求助时间", "建议时间", "发信时间"),
    ),
    "answered_at": (
        *("答复时间", "答复日期", "回复时间", "回复日期", "处理时间", "反馈时间", "办结时间", "办结日期"),
        "回复于",
    ),
    "status": (
        *("办理状态", "状态", "处理状态", "处理情况", "办理情况", "信件状态", "当前状态", "回复状态"),
        "办理进度",
    ),
    "category": (
        *("信件类型", "留言类型", "类型", "类别", "所属类型", "诉求类型", "信件类别", "咨询类型"),
        "问题类型",
    ),
    "unit": (
        *("答复单位", "答复部门", "承办单位", "承办部门", "办理单位", "办理部门", "处理单位", "回复单位"),
        *("回复部门", "受理单位", "责任单位"),
    ),
    "reply_text": (
        *("答复内容", "回复内容", "处理结果", "答复意见", "回复意见", "办理结果", "处理意见", "办理意见"),
        *("受理意见", "答复", "回复"),
    ),
    "title": ("信件标题", "留言标题", "标题", "主题", "信件主题", "咨询主题", "反映标题"),
}
FIELD_LABELS = {name: "|".join(words) for name, words in FIELD_WORDS.items()}
LABELS = Labels(FIELD_LABELS)
# List columns named by a table header (looser than a message page's labels), checked in order.
HEADER_FIELDS = (
    ("status", r"状态|情况|进度"),
    ("unit", r"单位|部门|承办"),
    ("category", r"类型|类别|分类"),
    ("message_id", r"编号"),
    ("answered_at", r"(回复|答复|办结|反馈|处理).*(时间|日期)"),
    ("asked_at", r"时间|日期"),
    ("title", r"标题|主题|事项"),
)
CLASS_FIELDS = (
    ("status", r"status|state|zt"),
    ("category", r"type|category|lx|lb"),
    ("unit", r"unit|dept|bm|dw"),
    ("asked_at", r"date|time|sj|rq"),
    ("message_id", r"code|num|bh"),
)
MESSAGE_ID = re.compile(r"^[A-Za-z]{0,8}[-_]?\d{6,}(?:[-_]\d+)*$")
STATUS_ONLY = re.compile(rf"^[\[【(（]?(?:{OPEN_WORDS.pattern}|{ANSWERED_WORDS.pattern})[\]】)）]?$")
CATEGORY = re.compile(
    r"^[\[【(（]?(咨询|投诉|建议|求助|举报|表扬|意见|反映|其他|其它|感谢|批评|诉求|政策咨询|投诉举报)类?[\]】)）]?$"
)
UNIT = re.compile(
    r"(局|委员会|委|办公室|办|厅|中心|政府|部|院|所|站|队|街道|办事处|镇|乡|公司|集团|管委会|署|馆|处)$"
)
BRACKETS = "[]【】()（）<>《》-—:：/ "


@dataclass
class MessageRow:
    url: str
    title: str | None
    category: str | None = None
    unit: str | None = None
    status: str | None = None
    asked_at: datetime | None = None
    answered_at: datetime | None = None
    message_id: str | None = None


@dataclass
class _Cell:
    text: str
    node: Selector | None  # None: a bare text node of the row
    header: str | None = None  # the table header above it

    @property
    def link(self) -> Selector | None:
        if self.node is None:
            return None
        if self.node.root.tag == "a" and self.node.attrib.get("href"):
            return self.node
        found = self.node.xpath(".//a[@href]")
        return found[0] if found else None


def _row_cells(row: Selector, headers: Sequence[str]) -> list[_Cell]:
    """The row's cells: its child nodes with text, through wrappers that hold everything (li > a > spans)."""
    node = row
    for _ in range(4):
        kids = node.xpath("./*[normalize-space()]")
        if len(kids) == 1 and not node.xpath("./text()[normalize-space()]") and kids[0].xpath("./*"):
            node = kids[0]
        else:
            break
    cells = []
    if node.root.tag == "tr":
        for i, td in enumerate(node.xpath("./td | ./th")):
            text = clean_text(" ".join(td.xpath(".//text()").getall()))
            if text:
                cells.append(_Cell(text, td, headers[i] if i < len(headers) else None))
        return cells
    for n in node.xpath("./node()"):
        if isinstance(n.root, str):
            text, cell_node = clean_text(n.root), None
        elif isinstance(getattr(n.root, "tag", None), str):
            text, cell_node = clean_text(" ".join(n.xpath(".//text()").getall())), n
        else:
            continue
        if text:
            cells.append(_Cell(text, cell_node))
    return cells


def _is_date_only(text: str, as_of: datetime) -> bool:
    return parse_list_date(text, as_of) is not None and len(compact(strip_dates(text)).strip(BRACKETS)) <= 2


def _marked_field(cell: _Cell, as_of: datetime) -> tuple[str, str] | None:
    """(field, value) a cell is marked as: by its table header, a 'label：value' text, its class, or a
    content that is nothing else (a message number, a status word, a category word, a date)."""
    text = cell.text
    if cell.header:
        name = next((f for f, rx in HEADER_FIELDS if re.search(rx, cell.header)), None)
        if name:
            return (name, text) if name != "title" else None
    if LABELS.inline.match(text):
        return next(LABELS.inline_pairs(text), None)
    hint = f"{cell.node.attrib.get('class', '')} {cell.node.attrib.get('id', '')}" if cell.node else ""
    if hint.strip() and cell.link is None:
        for name, rx in CLASS_FIELDS:
            if re.search(rf"(^|[\s_-])({rx})", hint, re.I):
                return name, text
    word = compact(text)
    if MESSAGE_ID.match(word):
        return "message_id", word
    if STATUS_ONLY.match(word):
        return "status", word.strip(BRACKETS)
    if CATEGORY.match(word):
        return "category", word.strip(BRACKETS)
    if _is_date_only(text, as_of):
        return "asked_at", text
    return None


def parse_message_row(
    row: Selector, base: str, as_of: datetime, headers: Sequence[str] = ()
) -> MessageRow | None:
    """One list row: the title link and the cells around it, each told by header, label, class or content.

    The title is the link with a title attribute, else the longest link text that is not a number,
    status, category, date or unit (大连's rows link every cell to the message).
    """
    anchors = [a for a in row.xpath(".//a[@href]") if absolute_url(base, a.attrib.get("href"))]
    if not anchors:
        return None
    cells = _row_cells(row, headers)
    marked = {id(c): _marked_field(c, as_of) for c in cells}
    titles = [c for c in cells if marked[id(c)] is None and (c.link is not None or c.header)]
    title_cell = max(
        titles,
        key=lambda c: (
            bool(c.link is not None and c.link.attrib.get("title")),
            not UNIT.search(compact(c.text)),  # a unit's name is often longer than the title
            len(c.text),
        ),
        default=None,
    )
    if title_cell is None:  # a link around the whole row: the title is its longest plain cell
        title_cell = max((c for c in cells if marked[id(c)] is None), key=lambda c: len(c.text), default=None)
    fields: dict[str, str] = {}
    for c in cells:
        if c is title_cell:
            continue
        found = marked[id(c)]
        if found is None and len(c.text) <= 30 and UNIT.search(compact(c.text)):
            found = ("unit", c.text)
        if found is not None:
            fields.setdefault(*found)
    link = (title_cell.link if title_cell is not None else None) or anchors[0]
    title = clean_text(link.attrib.get("title")) or (title_cell.text if title_cell is not None else "")
    url = absolute_url(base, link.attrib.get("href")) or absolute_url(base, anchors[0].attrib["href"])
    assert url is not None
    return MessageRow(
        url=url,
        title=title or None,
        category=fields.get("category"),
        unit=fields.get("unit"),
        status=fields.get("status"),
        asked_at=parse_list_date(fields.get("asked_at"), as_of),
        answered_at=parse_list_date(fields.get("answered_at"), as_of),
        message_id=fields.get("message_id"),
    )


def _candidate_rows(container: Selector) -> tuple[list[Selector], list[str]]:
    """The container's repeated children that hold a link (table rows with cells), and any header labels."""
    tag = container.root.tag
    if tag in ("table", "tbody"):
        trs = container.xpath("./tr | ./tbody/tr | ./thead/tr")
        header = next((tr for tr in trs if tr.xpath("./th") and not tr.xpath("./td")), None)
        headers = (
            [clean_text(" ".join(c.xpath(".//text()").getall())) for c in header.xpath("./th")]
            if header
            else []
        )
        return [tr for tr in trs if tr.xpath("./td") and tr.xpath(".//a[@href]")], headers
    kids = [k for k in container.xpath("./*") if k.xpath(".//a[@href]")]
    if not kids:
        return [], []
    common, _ = Counter(k.root.tag for k in kids).most_common(1)[0]
    return [k for k in kids if k.root.tag == common], []


def parse_message_list(sel: Selector, base: str, as_of: datetime) -> list[MessageRow]:
    """Rows of a board list: the repeated sibling rows holding a link and a date or a status word, in the
    container where most rows say so (ul.mt10 > li, ul#wszxList > li, table rows, div rows)."""
    best: tuple[float, list[MessageRow]] | None = None
    for container in sel.xpath("//body//*[./*[.//a[@href]]]"):
        if container.root.tag in ("a", "p", "span") or is_container_excluded(container):
            continue
        rows, headers = _candidate_rows(container)
        parsed = [r for r in (parse_message_row(row, base, as_of, headers) for row in rows) if r]
        score = sum(
            2 * (r.asked_at is not None) + 2 * (r.status is not None) + (r.message_id is not None)
            for r in parsed
        )
        if score and (best is None or score > best[0]):
            best = (score, parsed)
    return best[1] if best else []


# --- a message's page -----------------------------------------------------------------------------

# A site quirk: 佳木斯's message page writes each value in a <span> named by id (#zxsj, #replyTime, #state),
# the label in the text before it; the ids are read when no label is found.
ID_FIELDS = {
    "asked_at": r"zxsj|lxsj|fysj|xjsj|lysj|asktime|createtime",
    "answered_at": r"replytime|hfsj|dfsj|clsj|fksj|answertime",
    "status": r"state|status|blzt|clzt",
    "unit": r"condept|cbdw|dfdw|bldw",
    "reply_text": r"replycontent|hfnr|dfnr",
    "category": r"contype|xjlx|lylx",
}


def parse_message_detail(sel: Selector) -> dict[str, str]:
    """The fields of a message page (asked, answered, status, unit, category, reply, title, id) from its
    label/value pairs in any layout, then from the ids some boards give the value elements."""
    out = label_values(sel, LABELS)
    for name, pattern in ID_FIELDS.items():
        if name in out:
            continue
        for node in sel.xpath(f"//body//*[re:test(@id, '^({pattern})$', 'i')]"):
            value = clean_text(" ".join(node.xpath(".//text()").getall()))
            if value:
                out[name] = value
                break
    return out


def message_id_from_url(url: str) -> str:
    query = parse_qs(urlsplit(url).query)
    for key in ("id", "msgid", "messageId", "letterid", "guid", "xjid", "lyid"):
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
    """A message from its list row and, when opened, its page (the page's fields win)."""
    asked = parse_list_date(detail.get("asked_at"), as_of) or row.asked_at
    answered = parse_list_date(detail.get("answered_at"), as_of) or row.answered_at
    status = detail.get("status") or row.status
    reply = detail.get("reply_text")
    words = " ".join(s for s in (detail.get("status"), row.status) if s)
    state, answered = decide_answer(words, answered, reply)
    return MessageItem(
        target_id=target_id,
        board_url=board_url,
        board_kind=board_kind,
        message_id=detail.get("message_id") or row.message_id or message_id_from_url(row.url),
        url=row.url,
        title=detail.get("title") or row.title,
        category=detail.get("category") or row.category,
        unit=detail.get("unit") or row.unit,
        status=status,
        asked_at=iso(asked) if asked else None,
        answered_at=iso(answered) if answered else None,
        reply_text=reply if has_reply(reply) else None,
        answer_state=state,
    )


PAGE_COUNT = re.compile(r"共\s*(\d{1,5})\s*页|第\s*\d+\s*/\s*(\d{1,5})\s*页|\b\d+\s*/\s*(\d{1,5})\s*页")


@dataclass(frozen=True)
class BoardPager:
    """How a board page leads on: the next list page (a 下一页 link, else TRS script pagination), and
    how many pages the board says it has (共 387 页), when it says so."""

    next_url: str | None
    pages_said: int | None


def read_board_pager(sel: Selector, url: str, number: int) -> BoardPager:
    """``number``: this page's position (1 for the board's own page)."""
    text = " ".join(t for t in sel.xpath("//body//text()[not(ancestor::script)]").getall() if "页" in t)
    said = [int(g) for m in PAGE_COUNT.finditer(text) for g in m.groups() if g]
    nxt = next_page_url(sel, url)
    if nxt is None:
        script_pages = trs_page_urls(sel.get(), url)  # TRS boards number their pages in script
        nxt = script_pages[number - 1] if number - 1 < len(script_pages) else None
        said.append(len(script_pages) + 1 if script_pages else 0)
    return BoardPager(nxt, max(said) if any(said) else None)


def is_board_empty(sel: Selector) -> bool:
    """The board page says it holds no message (暂无信息…): an empty board, not a page we cannot read."""
    return bool(EMPTY_TEXT.search(" ".join(sel.xpath("//body//text()").getall())))
