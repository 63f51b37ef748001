"""Portal spider (政府网站): probe, site meta, columns and their freshness, dead links, messages."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urldefrag, urlencode, urljoin, urlsplit, urlunsplit

import scrapy
from parsel import Selector
from scrapy.http import HtmlResponse, Response, TextResponse
from twisted.python.failure import Failure
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

from core.clock import iso, now_iso
from core.dates import find_dates, strip_dates
from core.enums import CheckKind, ColumnKind, ColumnStatus
from core.items import CheckItem, ColumnEntryItem, ColumnItem, MessageItem, SiteItem
from core.text import clean_text
from spiders.base import ERROR_STATUSES, MonitorSpider
from spiders.outcomes import outcome_for_failure, outcome_for_status

# --- site meta ------------------------------------------------------------------------------------

SITE_ID_CODE = re.compile(r"^(\d{10}|bm\d{8})$")
FOOTER_ID_CODE = re.compile(r"网站标识码\s*[：:]?\s*([A-Za-z0-9]+)")
FOOTER_ICP = re.compile(r"([\u4e00-\u9fa5]\s*ICP\s*备\s*[\d\s]+号(?:\s*-\s*\d+)?)")
FOOTER_POLICE = re.compile(r"([\u4e00-\u9fa5]\s*公网安备\s*[\d\s]+号?)")
FOOTER_ORGANIZER = re.compile(r"主办(?:单位)?\s*[：:]\s*([^\s|｜，,。<]+)")


@dataclass
class SiteMeta:
    site_name: str | None
    site_domain: str | None
    site_id_code: str | None
    site_id_code_valid: int
    icp: str | None
    police_record: str | None
    organizer: str | None
    footer_id_code: str | None


def meta_content(sel: Selector, name: str) -> str | None:
    value = sel.xpath(
        f"//meta[translate(@name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
        f"='{name.lower()}']/@content"
    ).get()
    return clean_text(value) or None


def is_valid_site_id_code(code: str | None) -> bool:
    return bool(code) and bool(SITE_ID_CODE.match(code or ""))


def parse_site_meta(sel: Selector) -> SiteMeta:
    """SiteName/SiteDomain/SiteIDCode meta and the footer's 网站标识码, ICP, 公安备案 and 主办单位."""
    footer = " ".join(sel.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall())
    footer = re.sub(r"\s+", " ", footer)

    def find(pattern: re.Pattern[str]) -> str | None:
        m = pattern.search(footer)
        return re.sub(r"\s+", "", m.group(1)) if m else None

    footer_code = find(FOOTER_ID_CODE)
    code = meta_content(sel, "SiteIDCode") or footer_code
    # A template copied from another site shows up as meta and footer disagreeing.
    valid = is_valid_site_id_code(code) and (footer_code is None or footer_code == code)
    return SiteMeta(
        site_name=meta_content(sel, "SiteName"),
        site_domain=meta_content(sel, "SiteDomain"),
        site_id_code=code,
        site_id_code_valid=int(valid),
        icp=find(FOOTER_ICP),
        police_record=find(FOOTER_POLICE),
        organizer=find(FOOTER_ORGANIZER),
        footer_id_code=footer_code,
    )


def detect_cms(text: str, url: str = "") -> str:
    """The CMS family the page shows (markup and URL habits), or 'other'."""
    if "<datastore>" in text or "/module/web/jpage/" in text or re.search(r"/col/col\d+/", url + text):
        return "hanweb"
    if "createPageHTML" in text or re.search(r"var\s+countPage\s*=", text) or "TRS_Editor" in text:
        return "trs"
    if re.search(r"/t\d{8}_\d+\.s?html", text):
        return "trs"
    return "other"


# --- dates ----------------------------------------------------------------------------------------


def parse_list_date(text: str | None, as_of: datetime) -> datetime | None:
    """A date as list markup writes it: 2024-06-05, 2024/6/5, 2024年6月5日, [2024-06-05], [06-05].

    A month-day date counts only as a whole cell or in brackets (a title's "3月15日" is not the row's
    date); its year is the latest that is not in the future.
    """
    if not text:
        return None
    dates = find_dates(text, ref=as_of + timedelta(days=1), tense="past")
    full = [d for d in dates if d.form in ("explicit", "chinese")]
    if full:
        return full[0].value
    short = len(text.strip()) <= 12
    for d in dates:
        if d.form == "month_day" and (short or text[d.start] in "[［(（"):
            return d.value
    return None


ARTICLE_DATE_LABEL = re.compile(
    r"(?:发布日期|发布时间|发文日期|日期|时间)\s*[：:]\s*([0-9年月日\-/.\s:：]{8,20})"
)


def parse_article_date(sel: Selector, as_of: datetime) -> tuple[datetime | None, str]:
    """An article's publish date: the PubDate meta, else a labelled date on the page (发布日期：…)."""
    for name in ("PubDate", "pubdate", "firstpublishedtime"):
        when = parse_list_date(meta_content(sel, name), as_of)
        if when:
            return when, "pubdate_meta"
    text = " ".join(sel.xpath("//body//text()[not(ancestor::script)]").getall())
    for m in ARTICLE_DATE_LABEL.finditer(text):
        when = parse_list_date(m.group(1), as_of)
        if when:
            return when, "page"
    return None, "none"


# --- links ----------------------------------------------------------------------------------------

SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "#", "data:", "about:", "sms:")
LINK_XPATHS = (
    ("//a[@href]", "href"),
    ("//area[@href]", "href"),
    ("//img[@src]", "src"),
    ("//script[@src]", "src"),
    ("//link[@href][not(@rel='canonical')]", "href"),
    ("//iframe[@src]", "src"),
    ("//embed[@src]", "src"),
    ("//source[@src]", "src"),
    ("//video[@src]", "src"),
    ("//audio[@src]", "src"),
    ("//object[@data]", "data"),
)


def absolute_url(base: str, href: str | None) -> str | None:
    """The absolute http(s) URL of a link, or None for javascript:/mailto:/tel:/# and junk."""
    if not href:
        return None
    href = href.strip()
    if not href or href.lower().startswith(SKIP_SCHEMES):
        return None
    url = urldefrag(urljoin(base, href))[0]
    return url if urlsplit(url).scheme in ("http", "https") else None


def extract_links(sel: Selector, base: str) -> list[str]:
    """Every link and embedded resource on a page (anchors, images, scripts, styles, frames), once each."""
    seen: dict[str, None] = {}
    for xpath, attr in LINK_XPATHS:
        for href in sel.xpath(f"{xpath}/@{attr}").getall():
            url = absolute_url(base, href)
            if url:
                seen.setdefault(url, None)
    return list(seen)


def site_root(homepage: str) -> str:
    """The prefix under which a portal's own pages live (the homepage's directory)."""
    parts = urlsplit(homepage)
    path = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_internal(url: str, root: str) -> bool:
    return url.startswith(root)


# --- column classification ------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnRule:
    """One row of the classification table: where to look, a regex, the kind it gives."""

    rule_id: str
    field: str  # column_type (the ColumnType meta) / name / url
    pattern: str
    kind: str

    def matches(self, values: dict[str, str]) -> bool:
        return bool(re.search(self.pattern, values.get(self.field) or ""))


# Checked in order; the first match decides and its id is stored in columns.kind_rule. Ordered so the
# ColumnType meta wins over the name, and the name over the URL; 信访/举报 boards are 互动 too (the board
# kind then tells consultation from petition). Override with MONITOR_PORTAL_COLUMN_RULES or a target's
# options.column_rules (same shape: [rule_id, field, pattern, kind]).
DEFAULT_COLUMN_RULES: tuple[ColumnRule, ...] = (
    ColumnRule(
        "type.interaction", "column_type", r"互动|信箱|留言|咨询|信访|举报|访谈|征集", ColumnKind.INTERACTION
    ),
    ColumnRule("type.notice", "column_type", r"通知|公告|公示", ColumnKind.NOTICE),
    ColumnRule("type.policy", "column_type", r"政策|文件|法规|规章", ColumnKind.POLICY),
    ColumnRule("type.personnel", "column_type", r"人事|任免|招聘|招考", ColumnKind.PERSONNEL),
    ColumnRule("type.plan", "column_type", r"规划|计划|总结", ColumnKind.PLAN),
    ColumnRule("type.news", "column_type", r"动态|要闻|新闻|资讯", ColumnKind.NEWS),
    ColumnRule("type.service", "column_type", r"服务|办事", ColumnKind.SERVICE),
    ColumnRule(
        "name.interaction",
        "name",
        r"信箱|留言|咨询|互动|信访|举报|访谈|征集|问政|建言",
        ColumnKind.INTERACTION,
    ),
    ColumnRule("name.notice", "name", r"通知|公告|公示", ColumnKind.NOTICE),
    ColumnRule("name.policy", "name", r"政策|文件|法规|规章|规范性", ColumnKind.POLICY),
    ColumnRule("name.personnel", "name", r"人事|任免|招聘|招考", ColumnKind.PERSONNEL),
    ColumnRule("name.plan", "name", r"规划|计划|总结", ColumnKind.PLAN),
    ColumnRule("name.news", "name", r"要闻|动态|新闻|资讯|快讯|头条|政务信息", ColumnKind.NEWS),
    ColumnRule("name.service", "name", r"办事|服务|指南", ColumnKind.SERVICE),
    ColumnRule(
        "url.interaction", "url", r"/(hdjl|zmhd|ldxx|xjxx|wszx|liuyan|mailbox|xfts)", ColumnKind.INTERACTION
    ),
    ColumnRule("url.notice", "url", r"/(tzgg|gsgg|notice|gg)/", ColumnKind.NOTICE),
    ColumnRule("url.policy", "url", r"/(zcwj|zfwj|gfxwj|policy|zcfg)/", ColumnKind.POLICY),
    ColumnRule("url.personnel", "url", r"/(rsxx|rsrm)/", ColumnKind.PERSONNEL),
    ColumnRule("url.plan", "url", r"/(ghjh|fzgh)/", ColumnKind.PLAN),
    ColumnRule("url.news", "url", r"/(xwzx|ywdt|news|gzdt|bmdt|xwdt|jryw)/", ColumnKind.NEWS),
    ColumnRule("url.service", "url", r"/(bsfw|zwfw|service)/", ColumnKind.SERVICE),
)


def load_column_rules(raw: Iterable[Any] | None) -> tuple[ColumnRule, ...]:
    """Rules from settings/options ([rule_id, field, pattern, kind] lists) ahead of the defaults."""
    extra = []
    for row in raw or ():
        rule_id, fld, pattern, kind = (
            (row[k] for k in ("rule_id", "field", "pattern", "kind")) if isinstance(row, dict) else row
        )
        if fld not in ("column_type", "name", "url") or kind not in {k.value for k in ColumnKind}:
            raise ValueError(
                f"bad column rule {row!r}: field in column_type/name/url, kind in {list(ColumnKind)}"
            )
        re.compile(pattern)
        extra.append(ColumnRule(str(rule_id), fld, pattern, kind))
    return (*extra, *DEFAULT_COLUMN_RULES)


def classify_column(
    *, name: str | None, url: str, column_type: str | None, rules: Iterable[ColumnRule] = DEFAULT_COLUMN_RULES
) -> tuple[str, str]:
    """(kind, id of the rule that decided); ('其他', 'default') when no rule matches."""
    values = {"name": name or "", "url": url, "column_type": column_type or ""}
    for rule in rules:
        if rule.matches(values):
            return rule.kind, rule.rule_id
    return ColumnKind.OTHER, "default"


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


# --- column discovery -----------------------------------------------------------------------------


@dataclass
class ColumnRef:
    url: str
    name: str | None
    source: str  # nav / block / target


NAV_XPATH = (
    "//*[self::nav or self::ul or self::div][re:test(concat(@class, ' ', @id), "
    "'(^|[\\s_-])(nav|menu|navbar|mainnav|topnav)', 'i')]//a[@href]"
)
MORE_XPATH = "//a[re:test(normalize-space(.), '^(更多|more|MORE|更多>>|更多&gt;&gt;|>>|更多\\s*>+)$')]"
HOME_WORDS = re.compile(r"^(首页|网站首页|主页|home)$", re.I)


def discover_columns(sel: Selector, homepage: str, root: str) -> list[ColumnRef]:
    """Columns from the navigation (duplicated menus folded) and from blocks' 更多 links, inside the site."""
    found: dict[str, ColumnRef] = {}
    for a in sel.xpath(NAV_XPATH):
        url = absolute_url(homepage, a.attrib.get("href"))
        name = clean_text(" ".join(a.xpath(".//text()").getall()))
        if (
            not url
            or not is_internal(url, root)
            or url.rstrip("/") == homepage.rstrip("/")
            or HOME_WORDS.match(name)
        ):
            continue
        if url == root or url == root + "index.html":
            continue
        found.setdefault(url, ColumnRef(url, name or None, "nav"))
    for a in sel.xpath(MORE_XPATH):
        url = absolute_url(homepage, a.attrib.get("href"))
        if not url or not is_internal(url, root) or url in found:
            continue
        title = a.xpath(
            "ancestor::*[.//h2 or .//h3 or .//*[contains(@class, 'title')]][1]"
            "//*[self::h2 or self::h3 or contains(@class, 'title')][1]//text()"
        ).getall()
        found[url] = ColumnRef(url, clean_text(" ".join(title)) or None, "block")
    return list(found.values())


# --- column lists ---------------------------------------------------------------------------------


@dataclass
class ListEntry:
    url: str
    title: str | None
    published_at: datetime | None
    date_source: str = "list"


@dataclass
class ColumnPage:
    """What one list page shows: its entries, whether a list was found at all, how to get more pages."""

    entries: list[ListEntry]
    found: bool  # False: no list markup (parse failure), never the same as an empty list
    empty_marker: bool = False  # the page says the list is empty (暂无信息, an empty list container)
    needs_browser: bool = False  # items are written by script (var itemObj = [...])
    page_urls: list[str] = field(default_factory=list)  # further pages known up front (TRS, Hanweb)
    next_url: str | None = None  # the 下一页 link, followed one page at a time
    adapter: str = "generic"


EXCLUDED_CONTAINER = re.compile(
    r"(^|[\s_-])(nav|menu|foot|footer|header|crumb|breadcrumb|paging|pager|pagination|links|friend|sidebar|"
    r"subnav|share)($|[\s_-])",
    re.I,
)
LIST_HINT = re.compile(r"list|news|lb|article|xxgk|data|con|info", re.I)
EMPTY_TEXT = re.compile(r"暂无(相关)?(信息|数据|内容|记录|文章)|没有(找到)?(相关)?(信息|数据|记录)")
JS_LIST = re.compile(r"var\s+itemObj\s*=|document\.write\s*\(\s*['\"]<li|\.innerHTML\s*[+]?=")
NEXT_WORDS = re.compile(r"^(下一页|下页|next|>|›|后页)$", re.I)


def _container_excluded(node: Selector) -> bool:
    for anc in node.xpath("ancestor-or-self::*"):
        tag = anc.root.tag if isinstance(anc.root.tag, str) else ""
        if tag in ("nav", "header", "footer", "aside"):
            return True
        if EXCLUDED_CONTAINER.search(f"{anc.attrib.get('class', '')} {anc.attrib.get('id', '')}"):
            return True
    return False


def parse_entry(node: Selector, base: str, as_of: datetime) -> ListEntry | None:
    """One list row (li or tr): its link, title and date (from span/td text first, else the link text)."""
    anchors = node.xpath(".//a[@href]")
    link = next((a for a in anchors if absolute_url(base, a.attrib.get("href"))), None)
    if link is None:
        return None
    url = absolute_url(base, link.attrib["href"])
    assert url is not None
    link_text = clean_text(" ".join(link.xpath(".//text()").getall()))
    title = clean_text(link.attrib.get("title")) or link_text
    when = None
    for text in node.xpath(".//text()[not(ancestor::a)]").getall():
        when = parse_list_date(text.strip(), as_of)
        if when:
            break
    if when is None:
        # Hanweb lists and many TRS templates write the date inside the link text.
        when = parse_list_date(link_text, as_of)
        if when and not link.attrib.get("title"):
            title = clean_text(strip_dates(link_text))
    return ListEntry(url=url, title=title or None, published_at=when)


def _table_entries(table: Selector, base: str, as_of: datetime) -> list[ListEntry]:
    headers = [clean_text(" ".join(c.xpath(".//text()").getall())) for c in table.xpath(".//tr[th][1]/th")]
    date_col = next((i for i, h in enumerate(headers) if re.search(r"发布(日期|时间)", h)), None)
    if date_col is None:
        date_col = next((i for i, h in enumerate(headers) if "日期" in h or "时间" in h), None)
    entries = []
    for row in table.xpath(".//tr[td]"):
        entry = parse_entry(row, base, as_of)
        if entry is None:
            continue
        cells = row.xpath("./td")
        if date_col is not None and date_col < len(cells):
            entry.published_at = parse_list_date(
                clean_text(" ".join(cells[date_col].xpath(".//text()").getall())), as_of
            )
        entries.append(entry)
    return entries


def find_list(sel: Selector, base: str, as_of: datetime) -> tuple[list[ListEntry], bool, bool]:
    """(entries, found, empty_marker) of the page's main list: the container with the most dated rows."""
    best: tuple[float, list[ListEntry]] | None = None
    for container in sel.xpath("//ul | //ol | //table | //div[count(./div[.//a]) > 1]"):
        if _container_excluded(container):
            continue
        tag = container.root.tag
        if tag == "table":
            entries = _table_entries(container, base, as_of)
        else:
            candidates = container.xpath("./li") if tag in ("ul", "ol") else container.xpath("./div")
            rows = [
                r
                for r in candidates
                if not EXCLUDED_CONTAINER.search(f"{r.attrib.get('class', '')} {r.attrib.get('id', '')}")
            ]
            entries = [e for e in (parse_entry(r, base, as_of) for r in rows) if e]
        if not entries:
            continue
        dated = sum(1 for e in entries if e.published_at)
        hint = (
            3
            if LIST_HINT.search(f"{container.attrib.get('class', '')} {container.attrib.get('id', '')}")
            else 0
        )
        score = dated * 2 + len(entries) + hint
        if best is None or score > best[0]:
            best = (score, entries)
    if best is not None:
        return best[1], True, False
    body_text = " ".join(sel.xpath("//body//text()[not(ancestor::script)]").getall())
    empty_container = sel.xpath(
        "//*[self::ul or self::ol or self::div or self::table][re:test(concat(@class, ' ', @id), "
        "'list|news|lb|article', 'i')][not(.//a)]"
    )
    empty = bool(EMPTY_TEXT.search(body_text)) or any(not _container_excluded(c) for c in empty_container)
    return [], empty, empty


def trs_page_urls(text: str, url: str) -> list[str]:
    """TRS WCM script pagination: createPageHTML(56, 0, "index", "html") / var countPage = 56."""
    m = re.search(
        r"createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*['\"]([\w-]+)['\"]\s*,\s*['\"](\w+)['\"]", text
    )
    if m:
        count, prefix, ext = int(m[1]), m[3], m[4]
    else:
        m2 = re.search(r"var\s+countPage\s*=\s*(\d+)", text)
        if not m2:
            return []
        count = int(m2[1])
        pm = re.search(r"var\s+prefix\s*=\s*['\"]([\w-]+)['\"]", text)
        em = re.search(r"var\s+suffix\s*=\s*['\"](\w+)['\"]", text)
        prefix = pm[1] if pm else "index"
        ext = (
            em[1] if em else (urlsplit(url).path.rsplit(".", 1)[-1] if "." in urlsplit(url).path else "html")
        )
    return [urljoin(url, f"{prefix}_{i}.{ext}") for i in range(1, count)]


HANWEB_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)


def hanweb_entries(xml_text: str, base: str, as_of: datetime) -> list[ListEntry]:
    """Rows of a Hanweb datastore (the first page inline, later ones from dataproxy.jsp)."""
    entries = []
    for fragment in HANWEB_RECORD.findall(xml_text):
        frag = Selector(text=f"<ul>{fragment}</ul>")
        for node in frag.xpath("//li | //tr | //ul[not(li)]"):
            entry = parse_entry(node, base, as_of)
            if entry:
                entries.append(entry)
    return entries


def hanweb_page_urls(text: str, base: str) -> list[str]:
    """Later Hanweb pages: dataproxy.jsp?page=N&columnid=…, N up to totalpage (or totalRecord/perPage)."""
    m = re.search(r"""(?:href=['"]|['"])([^'"<>\s]*dataproxy\.jsp\?[^'"<>\s\]]*)""", text)
    if not m:
        return []
    proxy = urljoin(base, m[1].replace("&amp;", "&"))
    total = re.search(r"<totalpage>\s*(\d+)\s*</totalpage>", text)
    if total:
        pages = int(total[1])
    else:
        rec = re.search(r"totalRecord\s*[:=]\s*['\"]?(\d+)", text, re.I)
        per = re.search(r"perPage\s*[:=]\s*['\"]?(\d+)", text, re.I)
        if not rec:
            return []
        pages = -(-int(rec[1]) // int(per[1] if per else 15))
    parts = urlsplit(proxy)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    urls = []
    for n in range(2, pages + 1):
        query["page"] = str(n)
        urls.append(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), "")))
    return urls


def next_page_url(sel: Selector, base: str) -> str | None:
    """A 下一页 link, or a ?page=N+1 / index_N+1 link in the pager."""
    for a in sel.xpath("//a[@href]"):
        if NEXT_WORDS.match(clean_text(" ".join(a.xpath(".//text()").getall()))):
            url = absolute_url(base, a.attrib["href"])
            if url and url != base:
                return url
    return None


def parse_column_page(sel: Selector, url: str, as_of: datetime) -> ColumnPage:
    """One list page through the adapter its markup calls for: Hanweb datastore, script list, TRS, generic."""
    text = sel.get()
    datastore = sel.xpath("//script[@type='text/xml']/text()").getall()
    if any("<datastore" in d for d in datastore) or ("<datastore>" in text and "<recordset>" in text):
        xml = "".join(datastore) or text
        entries = hanweb_entries(xml, url, as_of)
        return ColumnPage(
            entries, True, empty_marker=not entries, page_urls=hanweb_page_urls(text, url), adapter="hanweb"
        )
    entries, found, empty = find_list(sel, url, as_of)
    if not entries and JS_LIST.search(text):
        return ColumnPage([], False, needs_browser=True, adapter="script")
    page_urls = trs_page_urls(text, url)
    if page_urls or "createPageHTML" in text:
        return ColumnPage(entries, found, empty_marker=empty, page_urls=page_urls, adapter="trs")
    return ColumnPage(entries, found, empty_marker=empty, next_url=next_page_url(sel, url))


# --- message boards -------------------------------------------------------------------------------

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
        url = absolute_url(base, link[0].attrib["href"])
        if not url:
            continue

        def cls(pattern: str, node: Selector = node) -> str | None:
            value = node.xpath(f".//*[re:test(@class, '{pattern}', 'i')][not(self::a)]//text()").getall()
            return clean_text(" ".join(value)) or None

        date_text = cls("date|time|sj")
        rows.append(
            MessageRow(
                url=url,
                title=clean_text(link[0].attrib.get("title") or " ".join(link[0].xpath(".//text()").getall()))
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


# --- encodings ------------------------------------------------------------------------------------


def ensure_encoding(response: Response) -> TextResponse:
    """A text response decoded right: header, then <meta>, then sniffing (valid UTF-8, else GB18030)."""
    if not isinstance(response, TextResponse):
        response = HtmlResponse(
            url=response.url,
            body=response.body,
            headers=response.headers,
            request=response.request,
            status=response.status,
        )
    declared = http_content_type_encoding((response.headers.get("Content-Type") or b"").decode("latin-1"))
    declared = declared or html_body_declared_encoding(response.body)
    if declared:
        return response  # type: ignore[return-value]
    try:
        response.body.decode("utf-8")
    except UnicodeDecodeError:
        # Old portals drop every declaration; their bytes are GBK, of which GB18030 is the superset.
        return response.replace(encoding="gb18030")  # type: ignore[return-value]
    return response.replace(encoding="utf-8")  # type: ignore[return-value]


# --- the spider -----------------------------------------------------------------------------------


def probe_request(
    spider: MonitorSpider, target: dict[str, Any], callback: Any, errback: Any
) -> scrapy.Request:
    """The homepage fetch that doubles as an availability probe: one attempt, timed, no retry."""
    return scrapy.Request(
        target["url"],
        callback=callback,
        errback=errback,
        meta={
            "target": target,
            "kind": CheckKind.PROBE,
            "handle_httpstatus_list": ERROR_STATUSES,
            "dont_retry": True,
            "download_timeout": spider.open_limit_s + 5,
        },
        dont_filter=True,
    )


def probe_failure(spider: MonitorSpider, failure: Failure) -> CheckItem:
    check = spider.failure_check(failure, kind=CheckKind.PROBE)
    spider.crawler.stats.inc_value(f"monitor/probe/{check.outcome}")
    return check


class PortalSpider(MonitorSpider):
    """Every active portal target: probe, site meta, columns, column items, dead links, message boards."""

    name = "portal"
    platforms: ClassVar[tuple[str, ...]] = ("portal",)
    uses_browser = True  # only a column whose list is written by script asks for the browser

    max_pages: int
    max_columns: int
    article_dates: int
    link_articles: int
    link_depth: int
    link_timeout: float
    max_messages: int
    check_links: bool
    column_rules: tuple[ColumnRule, ...]
    links_seen: set[str]

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider: PortalSpider = super().from_crawler(crawler, *args, **kwargs)  # type: ignore[assignment]
        s = crawler.settings
        spider.max_pages = s.getint("MONITOR_PORTAL_MAX_PAGES", 5)
        spider.max_columns = s.getint("MONITOR_PORTAL_MAX_COLUMNS", 60)
        spider.article_dates = s.getint("MONITOR_PORTAL_ARTICLE_DATES", 30)
        spider.link_articles = s.getint("MONITOR_PORTAL_LINK_ARTICLES", 2)
        spider.link_depth = s.getint("MONITOR_PORTAL_LINK_DEPTH", 3)
        spider.link_timeout = s.getfloat("MONITOR_PORTAL_LINK_TIMEOUT_S", 10.0)
        spider.max_messages = s.getint("MONITOR_PORTAL_MAX_MESSAGES", 50)
        spider.check_links = s.getbool("MONITOR_PORTAL_CHECK_LINKS", True)
        raw_rules = s.get("MONITOR_PORTAL_COLUMN_RULES") or []
        spider.column_rules = load_column_rules(
            json.loads(raw_rules) if isinstance(raw_rules, str) else raw_rules
        )
        spider.links_seen = set()
        return spider

    def start_target(self, target: dict[str, Any]) -> Iterator[Any]:
        yield probe_request(self, target, self.parse_homepage, self.on_probe_error)

    def on_probe_error(self, failure: Failure) -> Iterator[Any]:
        # Unreachable: a failed probe and nothing else (no site or column rows to misread as stale).
        yield probe_failure(self, failure)

    # -- homepage ----------------------------------------------------------------------------------

    async def parse_homepage(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        probe = self.check(response, kind=CheckKind.PROBE)
        self.crawler.stats.inc_value(f"monitor/probe/{probe.outcome}")
        if response.status >= 400 or not response.body:
            probe.error = probe.error or f"HTTP {response.status}"
            yield probe
            return
        yield probe
        page = ensure_encoding(response)
        sel = page.selector
        root = site_root(page.url)
        meta = parse_site_meta(sel)
        entries, _, _ = find_homepage_items(sel, page.url, self.as_of)
        dated = [e.published_at for e in entries if e.published_at]
        yield SiteItem(
            target_id=tid,
            homepage_url=target["url"],
            final_url=page.url,
            site_name=meta.site_name,
            site_domain=meta.site_domain,
            site_id_code=meta.site_id_code,
            site_id_code_valid=meta.site_id_code_valid,
            encoding=page.encoding,
            cms=detect_cms(page.text, page.url),
            icp=meta.icp,
            police_record=meta.police_record,
            organizer=meta.organizer,
            homepage_items=len(entries),
            homepage_undated=len(entries) - len(dated),
            homepage_newest_at=iso(max(dated)) if dated else None,
            checked_at=now_iso(),
        )
        for req in self.link_requests(
            extract_links(sel, page.url), found_on=page.url, target=target, depth=1
        ):
            yield req
        options = target.get("options") or {}
        rules = (
            load_column_rules(options.get("column_rules"))
            if options.get("column_rules")
            else self.column_rules
        )
        columns = discover_columns(sel, page.url, root)
        for extra in options.get("columns") or []:
            spec = extra if isinstance(extra, dict) else {"url": extra}
            url = absolute_url(page.url, spec.get("url"))
            if url:
                columns = [c for c in columns if c.url != url]
                columns.append(ColumnRef(url, spec.get("name"), "target"))
        for col in columns[: self.max_columns]:
            yield scrapy.Request(
                col.url,
                callback=self.parse_column,
                errback=self.on_column_error,
                meta={
                    "target": target,
                    "kind": CheckKind.COLUMN,
                    "column": col,
                    "rules": rules,
                    "root": root,
                    "handle_httpstatus_list": ERROR_STATUSES,
                    "playwright": target.get("render") == "js",
                },
                dont_filter=True,
            )

    # -- columns -----------------------------------------------------------------------------------

    def on_column_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        col: ColumnRef = request.meta["column"]
        check = self.failure_check(failure, kind=CheckKind.COLUMN)
        yield check
        kind, rule = classify_column(
            name=col.name, url=col.url, column_type=None, rules=request.meta["rules"]
        )
        yield self.column_item(
            request.meta["target"]["id"], col, kind, rule, None, ColumnStatus.UNREACHABLE, error=check.error
        )

    def column_item(
        self, tid: int, col: ColumnRef, kind: str, rule: str, column_type: str | None, status: str, **kw: Any
    ) -> ColumnItem:
        return ColumnItem(
            target_id=tid,
            url=col.url,
            name=col.name,
            kind=kind,
            kind_rule=rule,
            column_type=column_type,
            source=col.source,
            status=status,
            checked_at=now_iso(),
            **kw,
        )

    async def fetch(self, url: str, *, playwright: bool = False, method: str = "GET") -> Response | Failure:
        """An inline fetch (pagination, article pages): the response, or the failure as a value."""
        request = scrapy.Request(
            url,
            method=method,
            meta={"handle_httpstatus_list": ERROR_STATUSES, "playwright": playwright},
            dont_filter=True,
        )
        try:
            return await self.crawler.engine.download_async(request)  # type: ignore[union-attr]
        except Exception as exc:
            failure = Failure(exc)
            failure.request = request  # type: ignore[attr-defined]
            return failure

    async def parse_column(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        target, col = response.meta["target"], response.meta["column"]
        tid, root = target["id"], response.meta["root"]
        yield self.check(response, kind=CheckKind.COLUMN)
        if response.status >= 400:
            kind, rule = classify_column(
                name=col.name, url=col.url, column_type=None, rules=response.meta["rules"]
            )
            yield self.column_item(
                tid, col, kind, rule, None, ColumnStatus.UNREACHABLE, error=f"HTTP {response.status}"
            )
            return
        page = ensure_encoding(response)
        sel = page.selector
        column_type = meta_content(sel, "ColumnType")
        meta_name = meta_content(sel, "ColumnName")
        if meta_name:
            col = ColumnRef(col.url, meta_name, col.source)
        kind, rule = classify_column(
            name=col.name, url=col.url, column_type=column_type, rules=response.meta["rules"]
        )
        links = extract_links(sel, page.url)
        try:
            if kind == ColumnKind.INTERACTION:
                async for item in self.parse_board(sel, page.url, target, col, kind, rule, column_type):
                    yield item
            else:
                async for item in self.parse_list(page, target, col, kind, rule, column_type, links):
                    yield item
        except Exception as exc:  # a page shaped like nothing seen before: recorded, not a crash
            self.logger.exception("column %s could not be parsed", col.url)
            self.crawler.stats.inc_value("monitor/portal/parse_failed")
            yield self.column_item(
                tid,
                col,
                kind,
                rule,
                column_type,
                ColumnStatus.PARSE_FAILED,
                error=f"{type(exc).__name__}: {exc}",
            )
        for req in self.link_requests(links, found_on=page.url, target=target, depth=2, root=root):
            yield req

    async def parse_list(
        self,
        page: TextResponse,
        target: dict[str, Any],
        col: ColumnRef,
        kind: str,
        rule: str,
        column_type: str | None,
        links: list[str],
    ) -> AsyncIterator[Any]:
        tid = target["id"]
        rendered = bool(page.meta.get("playwright"))
        parsed = parse_column_page(page.selector, page.url, self.as_of)
        browser_error = None
        if parsed.needs_browser and not rendered:
            got = await self.fetch(page.url, playwright=True)
            rendered = True
            if isinstance(got, Response) and got.status < 400:
                parsed = parse_column_page(ensure_encoding(got).selector, page.url, self.as_of)
            else:
                browser_error = (
                    outcome_for_failure(got)[1] if isinstance(got, Failure) else f"HTTP {got.status}"
                )
            self.crawler.stats.inc_value("monitor/portal/rendered")
        entries = list(parsed.entries)
        pages = 1
        to_fetch = list(parsed.page_urls)
        next_url = parsed.next_url
        seen = {page.url}
        while pages < self.max_pages and (to_fetch or next_url):
            url = to_fetch.pop(0) if to_fetch else next_url
            next_url = None
            if url is None or url in seen:
                break
            seen.add(url)
            got = await self.fetch(url)
            if isinstance(got, Failure) or got.status >= 400:
                yield self.fetch_check(got, url, tid, found_on=page.url)
                break
            pages += 1
            if parsed.adapter == "hanweb":
                more = hanweb_entries(
                    got.text if isinstance(got, TextResponse) else got.body.decode("utf-8", "replace"),
                    page.url,
                    self.as_of,
                )
            else:
                sub = parse_column_page(ensure_encoding(got).selector, url, self.as_of)
                more, next_url = sub.entries, (sub.next_url if not to_fetch else None)
            entries.extend(more)
        unique: dict[str, ListEntry] = {}
        for e in entries:
            unique.setdefault(e.url, e)
        entries = list(unique.values())
        links.extend(
            e.url for e in entries
        )  # script- and datastore-built lists hide their links from the DOM
        # Undated rows: the article page's PubDate meta or its visible 发布日期; a few articles also
        # give the links one level deeper for the dead-link check.
        undated = [e for e in entries if e.published_at is None][: self.article_dates]
        deep = [e for e in entries if e.published_at is not None][: self.link_articles]
        for entry in undated + deep:
            if not is_internal(entry.url, page.meta.get("root") or site_root(target["url"])):
                continue
            got = await self.fetch(entry.url)
            if isinstance(got, Failure) or got.status >= 400:
                continue
            art = ensure_encoding(got)
            if entry.published_at is None:
                entry.published_at, entry.date_source = parse_article_date(art.selector, self.as_of)
            if self.link_depth >= 3:
                for req in self.link_requests(
                    extract_links(art.selector, art.url), found_on=art.url, target=target, depth=3
                ):
                    yield req
        dated = [e.published_at for e in entries if e.published_at]
        if not parsed.found and not entries:
            status = ColumnStatus.BLANK if parsed.empty_marker else ColumnStatus.PARSE_FAILED
        else:
            status = ColumnStatus.OK if entries else ColumnStatus.BLANK
        if status == ColumnStatus.PARSE_FAILED:
            self.crawler.stats.inc_value("monitor/portal/parse_failed")
        yield self.column_item(
            tid,
            col,
            kind,
            rule,
            column_type,
            status,
            item_count=len(entries),
            undated_count=len(entries) - len(dated),
            newest_item_at=iso(max(dated)) if dated else None,
            pages_followed=pages,
            rendered=int(rendered),
            error=None
            if status != ColumnStatus.PARSE_FAILED
            else f"list written by script; rendering failed: {browser_error}"
            if browser_error
            else f"no list found by the {parsed.adapter} adapter",
        )
        for e in entries:
            yield ColumnEntryItem(
                target_id=tid,
                column_url=col.url,
                url=e.url,
                title=e.title,
                published_at=iso(e.published_at) if e.published_at else None,
                date_source=e.date_source if e.published_at else "none",
            )

    async def parse_board(
        self,
        sel: Selector,
        url: str,
        target: dict[str, Any],
        col: ColumnRef,
        kind: str,
        rule: str,
        column_type: str | None,
    ) -> AsyncIterator[Any]:
        tid = target["id"]
        board_kind = classify_board(col.name, col.url, column_type)
        rows = parse_message_list(sel, url, self.as_of)
        pages, next_url = 1, next_page_url(sel, url)
        while next_url and pages < self.max_pages:
            got = await self.fetch(next_url)
            if isinstance(got, Failure) or got.status >= 400:
                break
            pages += 1
            more_sel = ensure_encoding(got).selector
            rows.extend(parse_message_list(more_sel, next_url, self.as_of))
            next_url = next_page_url(more_sel, next_url)
        messages = []
        for row in rows[: self.max_messages]:
            got = await self.fetch(row.url)
            detail = (
                parse_message_detail(ensure_encoding(got).selector)
                if isinstance(got, Response) and got.status < 400
                else {}
            )
            messages.append(
                build_message(
                    row, detail, target_id=tid, board_url=col.url, board_kind=board_kind, as_of=self.as_of
                )
            )
        asked = [m.asked_at for m in messages if m.asked_at]
        found = bool(rows) or bool(EMPTY_TEXT.search(" ".join(sel.xpath("//body//text()").getall())))
        status = ColumnStatus.OK if rows else ColumnStatus.BLANK if found else ColumnStatus.PARSE_FAILED
        yield self.column_item(
            tid,
            col,
            kind,
            rule,
            column_type,
            status,
            item_count=len(rows),
            undated_count=len(messages) - len(asked),
            newest_item_at=max(asked) if asked else None,
            pages_followed=pages,
            rendered=0,
            error=None if status != ColumnStatus.PARSE_FAILED else "no message list found",
        )
        for message in messages:
            yield message

    # -- dead links --------------------------------------------------------------------------------

    def link_requests(
        self,
        urls: Iterable[str],
        *,
        found_on: str,
        target: dict[str, Any],
        depth: int,
        root: str | None = None,
    ) -> Iterator[scrapy.Request]:
        """HEAD each link once per run (depth-bounded); GET follows on 405/501."""
        if not self.check_links or depth > self.link_depth:
            return
        for url in urls:
            # Once per run and site: a link shared by two portals is recorded for each.
            key = f"{target['id']} {url}"
            if key in self.links_seen:
                continue
            self.links_seen.add(key)
            yield self.link_request(url, "HEAD", found_on=found_on, target=target)

    def link_request(self, url: str, method: str, *, found_on: str, target: dict[str, Any]) -> scrapy.Request:
        return scrapy.Request(
            url,
            method=method,
            callback=self.on_link,
            errback=self.on_link_error,
            meta={
                "target": target,
                "kind": CheckKind.LINK,
                "found_on": found_on,
                "handle_httpstatus_list": ERROR_STATUSES,
                "download_timeout": self.link_timeout,
                "dont_retry": True,
            },
            dont_filter=True,
            priority=-10,
        )

    def on_link(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        request = response.request
        assert request is not None
        if request.method == "HEAD" and response.status in (405, 501):
            yield self.link_request(
                request.url, "GET", found_on=request.meta["found_on"], target=request.meta["target"]
            )
            return
        check = self.check(response, kind=CheckKind.LINK)
        self.crawler.stats.inc_value(f"monitor/link/{check.outcome}")
        yield check

    def on_link_error(self, failure: Failure) -> Iterator[Any]:
        check = self.failure_check(failure, kind=CheckKind.LINK)
        self.crawler.stats.inc_value(f"monitor/link/{check.outcome}")
        yield check

    def fetch_check(self, got: Response | Failure, url: str, tid: int, *, found_on: str) -> CheckItem:
        if isinstance(got, Failure):
            outcome, error = outcome_for_failure(got)
            return CheckItem(
                kind=CheckKind.COLUMN,
                url=url,
                outcome=outcome,
                target_id=tid,
                error=error,
                found_on=found_on,
                checked_at=now_iso(),
            )
        return CheckItem(
            kind=CheckKind.COLUMN,
            url=url,
            final_url=got.url,
            outcome=outcome_for_status(got.status),
            target_id=tid,
            http_status=got.status,
            found_on=found_on,
            checked_at=now_iso(),
        )


def find_homepage_items(sel: Selector, base: str, as_of: datetime) -> tuple[list[ListEntry], bool, bool]:
    """Every list row on the homepage outside navigation and footer (all blocks, not only the biggest)."""
    entries: dict[str, ListEntry] = {}
    for node in sel.xpath("//li[.//a[@href]] | //tr[td][.//a[@href]]"):
        if _container_excluded(node):
            continue
        entry = parse_entry(node, base, as_of)
        if entry:
            entries.setdefault(entry.url, entry)
    return list(entries.values()), bool(entries), False
