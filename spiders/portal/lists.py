"""Column lists as their CMS writes them: generic ul/ol/table lists, TRS and Hanweb pagination, script lists.

Also the dates a list row or an article page shows, and the homepage's own list rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector

from core.dates import find_dates, strip_dates
from core.text import clean_text
from spiders.portal.links import absolute_url, attr
from spiders.portal.meta import meta_content

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


# --- list rows ------------------------------------------------------------------------------------


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


def is_container_excluded(node: Selector) -> bool:
    for anc in node.xpath("ancestor-or-self::*"):
        tag = anc.root.tag if isinstance(anc.root.tag, str) else ""
        if tag in ("nav", "header", "footer", "aside"):
            return True
        if EXCLUDED_CONTAINER.search(f"{attr(anc, 'class')} {attr(anc, 'id')}"):
            return True
    return False


def parse_entry(node: Selector, base: str, as_of: datetime) -> ListEntry | None:
    """One list row (li or tr): its link, title and date (from span/td text first, else the link text)."""
    anchors = node.xpath(".//a[@href]")
    link = next((a for a in anchors if absolute_url(base, attr(a, "href"))), None)
    if link is None:
        return None
    url = absolute_url(base, attr(link, "href"))
    assert url is not None
    link_text = clean_text(" ".join(link.xpath(".//text()").getall()))
    title = clean_text(attr(link, "title")) or link_text
    when = None
    for text in node.xpath(".//text()[not(ancestor::a)]").getall():
        when = parse_list_date(text.strip(), as_of)
        if when:
            break
    if when is None:
        # Hanweb lists and many TRS templates write the date inside the link text.
        when = parse_list_date(link_text, as_of)
        if when and not attr(link, "title"):
            title = clean_text(strip_dates(link_text))
    return ListEntry(url=url, title=title or None, published_at=when)


def table_entries(table: Selector, base: str, as_of: datetime) -> list[ListEntry]:
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
        if is_container_excluded(container):
            continue
        tag = container.root.tag
        if tag == "table":
            entries = table_entries(container, base, as_of)
        else:
            candidates = container.xpath("./li") if tag in ("ul", "ol") else container.xpath("./div")
            rows = [
                r for r in candidates if not EXCLUDED_CONTAINER.search(f"{attr(r, 'class')} {attr(r, 'id')}")
            ]
            entries = [e for e in (parse_entry(r, base, as_of) for r in rows) if e]
        if not entries:
            continue
        dated = sum(1 for e in entries if e.published_at)
        hint = 3 if LIST_HINT.search(f"{attr(container, 'class')} {attr(container, 'id')}") else 0
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
    empty = bool(EMPTY_TEXT.search(body_text)) or any(not is_container_excluded(c) for c in empty_container)
    return [], empty, empty


# --- CMS adapters: pages known up front (TRS, Hanweb), the 下一页 chain (generic) -------------------

# Further page URLs built at most, whatever count the page states (createPageHTML(3000000, …) is the
# page's word, not a reason to build three million URLs); the spider follows MONITOR_PORTAL_MAX_PAGES.
MAX_PAGE_URLS = 100


def trs_page_urls(text: str, url: str, limit: int = MAX_PAGE_URLS) -> list[str]:
    """TRS WCM script pagination: createPageHTML(56, 0, "index", "html") / var countPage = 56; at most
    ``limit`` further pages."""
    m = re.search(
        r"createPageHTML\(\s*(\d{1,9})\s*,\s*(\d{1,9})\s*,\s*['\"]([\w-]+)['\"]\s*,\s*['\"](\w+)['\"]", text
    )
    if m:
        count, prefix, ext = int(m[1]), m[3], m[4]
    else:
        m2 = re.search(r"var\s+countPage\s*=\s*(\d{1,9})", text)
        if not m2:
            return []
        count = int(m2[1])
        pm = re.search(r"var\s+prefix\s*=\s*['\"]([\w-]+)['\"]", text)
        em = re.search(r"var\s+suffix\s*=\s*['\"](\w+)['\"]", text)
        prefix = pm[1] if pm else "index"
        ext = (
            em[1] if em else (urlsplit(url).path.rsplit(".", 1)[-1] if "." in urlsplit(url).path else "html")
        )
    return [urljoin(url, f"{prefix}_{i}.{ext}") for i in range(1, min(count, limit + 1))]


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


def hanweb_page_urls(text: str, base: str, limit: int = MAX_PAGE_URLS) -> list[str]:
    """Later Hanweb pages: dataproxy.jsp?page=N&columnid=…, N up to totalpage (or totalRecord/perPage),
    at most ``limit`` of them."""
    m = re.search(r"""(?:href=['"]|['"])([^'"<>\s]*dataproxy\.jsp\?[^'"<>\s\]]*)""", text)
    if not m:
        return []
    proxy = absolute_url(base, m[1].replace("&amp;", "&"))
    if proxy is None:
        return []
    total = re.search(r"<totalpage>\s*(\d{1,9})\s*</totalpage>", text)
    if total:
        pages = int(total[1])
    else:
        rec = re.search(r"totalRecord\s*[:=]\s*['\"]?(\d{1,12})", text, re.I)
        per = re.search(r"perPage\s*[:=]\s*['\"]?(\d{1,9})", text, re.I)
        if not rec:
            return []
        pages = -(-int(rec[1]) // max(int(per[1] if per else 15), 1))
    parts = urlsplit(proxy)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    urls = []
    for n in range(2, min(pages, limit + 1) + 1):
        query["page"] = str(n)
        urls.append(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), "")))
    return urls


def next_page_url(sel: Selector, base: str) -> str | None:
    """A 下一页 link, or a ?page=N+1 / index_N+1 link in the pager."""
    for a in sel.xpath("//a[@href]"):
        if NEXT_WORDS.match(clean_text(" ".join(a.xpath(".//text()").getall()))):
            url = absolute_url(base, attr(a, "href"))
            if url and url != base:
                return url
    return None


def parse_column_page(sel: Selector, url: str, as_of: datetime, max_pages: int = MAX_PAGE_URLS) -> ColumnPage:
    """One list page through the adapter its markup calls for: Hanweb datastore, script list, TRS, generic;
    further page URLs are built for at most ``max_pages`` pages."""
    text = sel.get()
    datastore = sel.xpath("//script[@type='text/xml']/text()").getall()
    if any("<datastore" in d for d in datastore) or ("<datastore>" in text and "<recordset>" in text):
        xml = "".join(datastore) or text
        entries = hanweb_entries(xml, url, as_of)
        return ColumnPage(
            entries,
            True,
            empty_marker=not entries,
            page_urls=hanweb_page_urls(text, url, max_pages),
            adapter="hanweb",
        )
    entries, found, empty = find_list(sel, url, as_of)
    if not entries and JS_LIST.search(text):
        return ColumnPage([], False, needs_browser=True, adapter="script")
    page_urls = trs_page_urls(text, url, max_pages)
    if page_urls or "createPageHTML" in text:
        return ColumnPage(entries, found, empty_marker=empty, page_urls=page_urls, adapter="trs")
    return ColumnPage(entries, found, empty_marker=empty, next_url=next_page_url(sel, url))


# --- the homepage ---------------------------------------------------------------------------------


def find_homepage_items(sel: Selector, base: str, as_of: datetime) -> tuple[list[ListEntry], bool, bool]:
    """Every list row on the homepage outside navigation and footer (all blocks, not only the biggest)."""
    entries: dict[str, ListEntry] = {}
    for node in sel.xpath("//li[.//a[@href]] | //tr[td][.//a[@href]]"):
        if is_container_excluded(node):
            continue
        entry = parse_entry(node, base, as_of)
        if entry:
            entries.setdefault(entry.url, entry)
    return list(entries.values()), bool(entries), False
