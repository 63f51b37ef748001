"""The demo world's government portals: healthy, defective, GBK TRS-style, Hanweb-style, and unreachable."""

from __future__ import annotations

import copy
import json
import random
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from html import escape
from typing import Any

from demo import text
from demo.http import Request, Response, Router
from demo.world import World

UNREACHABLE_BASE = "http://127.0.0.1:9"  # discard port: nothing listens there
BOARD_STYLES = ("board", "board_mt10")  # message boards: classed spans + th/td pages; 佳木斯-like pages
SLOW_SECONDS = 3.0  # the planted slow link; the local world's link timeout is 2 s


@dataclass
class Article:
    docid: int
    title: str
    published_at: datetime
    path: str  # inside the site root
    attachment: str | None = None  # an attachment link on the article page (may be dead)


@dataclass
class Message:
    mid: str
    title: str
    category: str
    unit: str
    asked_at: datetime
    answered_at: datetime | None  # when it was really answered; None: still open
    expect: tuple[str, ...] = ()  # the rules this message is planted to trigger (subject: its id)
    reply_shown: bool = True  # the message page shows the reply date (many boards do not)
    shows_status: bool = True  # the board writes a status word for it

    @property
    def status(self) -> str:
        if not self.shows_status:
            return ""
        return "已回复" if self.answered_at else "未回复"


@dataclass
class Column:
    path: str  # inside the site root, ends with "/"
    name: str
    column_type: str
    # span / cn / bracket / md / table / linktext / nodate / js / hanweb / board / board_mt10 / blank
    style: str
    articles: list[Article] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    per_page: int = 10
    pager: str = (
        "index"  # index (index_1.html) / query (?page=2) / trs (createPageHTML) / count (var countPage)
    )
    colid: int = 0  # Hanweb column id
    extra_links: tuple[str, ...] = ()  # more links on the list page (may be dead)
    expect: tuple[str, ...] = ()  # the rules this column is planted to trigger (subject: its URL)


@dataclass
class Portal:
    slug: str
    name: str
    archetype: str
    region_code: str
    region_name: str
    level: str
    org: str
    site_id_code: str
    encoding: str = "utf-8"
    cms: str = "other"
    columns: list[Column] = field(default_factory=list)
    home_links: tuple[tuple[str, str], ...] = ()  # (kind, href) extra links/resources on the homepage
    expect: tuple[str, ...] = ()  # site-level rules this portal is planted to trigger

    @property
    def root(self) -> str:
        return f"/sites/{self.slug}/"


def _titles(rng: random.Random, org: str, region: str, n: int) -> list[str]:
    return [text.ordinary_post(rng, org=org, region=region)[0] for _ in range(n)]


def _articles(
    portal_slug: str,
    col: str,
    *,
    n: int,
    newest_days: float,
    step: float,
    as_of: datetime,
    cms: str,
    seed: str,
    org: str,
    region: str,
    colid: int = 0,
) -> list[Article]:
    rng = random.Random(f"portal:{seed}:{col}")
    out = []
    for i, title in enumerate(_titles(rng, org, region, n)):
        when = (as_of - timedelta(days=newest_days + i * step)).replace(microsecond=0, second=0)
        docid = 10000 + colid * 100 + i
        if cms == "trs":
            path = f"{col}{when:%Y%m}/t{when:%Y%m%d}_{docid}.html"
        elif cms == "hanweb":
            path = f"art/{when.year}/{when.month}/{when.day}/art_{colid}_{docid}.html"
        else:
            path = f"{col}{when:%Y%m}/art_{docid}.html"
        out.append(Article(docid, title, when, path))
    return out


@cache
def _portals(as_of: datetime) -> tuple[Portal, ...]:
    def arts(p: Portal, col: str, colid: int, **kw: Any) -> list[Article]:
        return _articles(
            p.slug,
            col,
            as_of=as_of,
            cms=p.cms,
            seed=p.slug,
            org=p.org,
            region=p.region_name,
            colid=colid,
            **kw,
        )

    def msg(
        prefix: str,
        i: int,
        title: str,
        cat: str,
        unit: str,
        asked: float,
        answered: float | None,
        expect: tuple[str, ...] = (),
    ) -> Message:
        at = (as_of - timedelta(days=asked)).replace(microsecond=0, second=0)
        ans = at + timedelta(days=answered) if answered is not None else None
        return Message(f"{prefix}-{i:04d}", title, cat, unit, at, ans, expect)

    linjiang = Portal(
        "linjiang",
        "临江市人民政府门户网站",
        "healthy",
        "990100",
        "临江市",
        "市级",
        "临江市人民政府办公室",
        "9901000001",
    )
    linjiang.columns = [
        Column(
            "jryw/",
            "今日临江",
            "动态要闻",
            "span",
            arts(linjiang, "jryw/", 1, n=25, newest_days=0.4, step=0.9),
        ),
        Column("bmdt/", "部门动态", "工作动态", "cn", arts(linjiang, "bmdt/", 2, n=8, newest_days=2, step=2)),
        Column(
            "tzgg/",
            "通知公告",
            "通知公告",
            "bracket",
            arts(linjiang, "tzgg/", 3, n=8, newest_days=10, step=9),
        ),
        Column(
            "zcwj/", "政策文件", "政策文件", "table", arts(linjiang, "zcwj/", 4, n=6, newest_days=30, step=20)
        ),
        Column(
            "rsxx/",
            "人事信息",
            "人事信息",
            "nodate",
            arts(linjiang, "rsxx/", 5, n=4, newest_days=40, step=30),
        ),
        Column(
            "ghjh/",
            "规划计划",
            "规划计划",
            "linktext",
            arts(linjiang, "ghjh/", 6, n=3, newest_days=120, step=60),
        ),
        Column(
            "ldxx/",
            "市长信箱",
            "互动交流",
            "board",
            messages=[
                msg("LJ2026", 1, "关于小区加装电梯补贴的咨询", "咨询", "临江市住房和城乡建设局", 5, 2),
                msg("LJ2026", 2, "公交线路调整的建议", "建议", "临江市交通运输局", 12, 3),
                msg("LJ2026", 3, "社保卡补办需要哪些材料", "咨询", "临江市人力资源和社会保障局", 30, 1),
                msg("LJ2026", 4, "夜间施工噪音扰民", "投诉", "临江市生态环境局", 60, 4),
                # answered long ago; the page says 已回复 and shows no reply date: no veto
                replace(
                    msg("LJ2025", 5, "老旧小区改造进度咨询", "咨询", "临江市住房和城乡建设局", 100, 6),
                    reply_shown=False,
                ),
                replace(
                    msg("LJ2025", 6, "农村饮水工程水质问题", "投诉", "临江市水务局", 150, 9),
                    reply_shown=False,
                ),
            ],
        ),
    ]
    linjiang.home_links = (
        ("img", "images/banner-2026.jpg"),
        ("attachment", "files/2025-ndbb.pdf"),
        ("external", "/sites/hekou/"),
    )

    yunchuan = Portal(
        "yunchuan",
        "云川市人民政府门户网站",
        "defective",
        "990200",
        "云川市",
        "市级",
        "云川市人民政府办公室",
        "99020000",
        # dead links deeper than the homepage (a column's link, an article's attachment) are one finding
        expect=("portal.homepage_stale", "portal.invalid_site_id_code", "portal.dead_links"),
    )
    yw = Column(
        "ywdt/",
        "云川要闻",
        "要闻动态",
        "span",
        arts(yunchuan, "ywdt/", 11, n=15, newest_days=30, step=3),
        pager="query",
        extra_links=("zt/2019/",),
        expect=("portal.column_stale",),
    )
    yw.articles[0].attachment = "files/annex-2026-05.docx"
    yunchuan.columns = [
        yw,
        Column(
            "bmdt/",
            "部门动态",
            "工作动态",
            "span",
            arts(yunchuan, "bmdt/", 12, n=6, newest_days=20, step=4),
            expect=("portal.column_stale",),
        ),
        Column(
            "tzgg/",
            "通知公告",
            "通知公告",
            "bracket",
            arts(yunchuan, "tzgg/", 13, n=5, newest_days=200, step=30),
            expect=("portal.column_stale",),
        ),
        Column(
            "zcwj/",
            "政策文件",
            "政策文件",
            "table",
            arts(yunchuan, "zcwj/", 14, n=4, newest_days=250, step=40),
            expect=("portal.column_stale",),
        ),
        Column("ztzl/", "专题专栏", "专题专栏", "blank", expect=("portal.blank_column",)),
        Column(
            "tpxw/", "图片新闻", "图片新闻", "js", arts(yunchuan, "tpxw/", 15, n=6, newest_days=3, step=2)
        ),
        Column(
            "ldxx/",
            "市长信箱",
            "互动交流",
            "board",
            messages=[
                msg(
                    "YC2026",
                    1,
                    "农村公路破损何时维修",
                    "咨询",
                    "云川市交通运输局",
                    120,
                    None,
                    expect=("portal.unanswered_message",),
                ),
                msg("YC2026", 2, "医保异地备案流程", "咨询", "云川市医疗保障局", 40, 2),
                msg("YC2026", 3, "学区划分咨询", "咨询", "云川市教育局", 20, 5),
            ],
        ),
        Column(
            "xfts/",
            "网上信访",
            "信访",
            "board",
            messages=[
                msg("XF2026", 1, "反映拖欠工程款问题", "投诉", "云川市信访局", 150, None),
                msg("XF2026", 2, "反映征地补偿问题", "投诉", "云川市信访局", 50, 10),
            ],
        ),
        # A busy board shaped like 佳木斯's: 15 letters a page, newest first; nearly all 已回复 with no
        # reply date on their page, one open letter four months old on page 6, one without any status.
        Column(
            "fywt/",
            "反映问题",
            "互动交流",
            "board_mt10",
            messages=_busy_board(msg),
            per_page=15,
            pager="query",
        ),
    ]
    yunchuan.home_links = (
        ("img", "images/banner-2025.jpg#dead"),
        ("attachment", "files/2026-gzyd.pdf#dead"),
        ("external", "/external/old-partner/index.html#dead"),
        ("attachment", "files/tongji-2025.xls#error"),
        ("link", "slow/report.html#slow"),
    )

    hekou = Portal(
        "hekou",
        "河口县人民政府门户网站",
        "gbk_trs",
        "990121",
        "河口县",
        "县级",
        "河口县人民政府办公室",
        "9901210001",
        encoding="gbk",
        cms="trs",
    )
    hekou.columns = [
        Column(
            "xwzx/",
            "河口要闻",
            "要闻动态",
            "span",
            arts(hekou, "xwzx/", 21, n=25, newest_days=1, step=1.1),
            pager="trs",
        ),
        Column("tzgg/", "通知公告", "通知公告", "md", arts(hekou, "tzgg/", 22, n=7, newest_days=5, step=12)),
        Column(
            "zcwj/",
            "政策文件",
            "政策文件",
            "table",
            arts(hekou, "zcwj/", 23, n=14, newest_days=60, step=10),
            pager="count",
        ),
        # A hub page (pictures, paragraphs, no list): a parse failure, never a blank column.
        Column("xxgk/", "政府信息公开", "信息公开", "hub"),
    ]

    qingshan = Portal(
        "qingshan",
        "青山区人民政府门户网站",
        "hanweb",
        "990102",
        "临江市青山区",
        "县级",
        "临江市青山区人民政府办公室",
        "9901020001",
        cms="hanweb",
    )
    qingshan.columns = [
        Column(
            "col/col1001/",
            "青山动态",
            "工作动态",
            "hanweb",
            arts(qingshan, "", 1001, n=35, newest_days=0.5, step=1),
            per_page=15,
            colid=1001,
        ),
        Column(
            "col/col1002/",
            "通知公告",
            "通知公告",
            "hanweb",
            arts(qingshan, "", 1002, n=8, newest_days=7, step=15),
            per_page=15,
            colid=1002,
        ),
        # The CMS answers 503 for this column: unreachable, not blank and not stale.
        Column("col/col1003/", "政策解读", "政策解读", "down", colid=1003),
    ]
    return linjiang, yunchuan, hekou, qingshan


BUSY_TOPICS = (
    ("供热管网漏水", "投诉", "云川市住房和城乡建设局"),
    ("路灯长期不亮", "求助", "云川市城市管理局"),
    ("医保待遇咨询", "咨询", "云川市医疗保障局"),
    ("道路破损影响出行", "投诉", "云川市交通运输局"),
    ("楼道杂物消防隐患", "投诉", "云川市消防救援支队"),
    ("子女入学材料咨询", "咨询", "云川市教育局"),
)
BUSY_LETTERS = 150  # ten pages
BUSY_OPEN = 85  # page 6: four months old, never answered
BUSY_NO_STATUS = 70  # written without a status word or a reply date


def _busy_board(msg: Any) -> list[Message]:
    out = []
    for i in range(BUSY_LETTERS):
        topic, cat, unit = BUSY_TOPICS[i % len(BUSY_TOPICS)]
        age = 2 + int(i * 1.42)  # whole days: a letter every day or two
        m = msg("YC2026F", i, f"{topic}（{i}）", cat, unit, age, None if i == BUSY_OPEN else 3)
        if i == BUSY_OPEN:
            m = replace(m, expect=("portal.unanswered_message",))
        out.append(
            replace(m, reply_shown=i % 3 == 0 and i != BUSY_NO_STATUS, shows_status=i != BUSY_NO_STATUS)
        )
    return out


def portals(world: World) -> tuple[Portal, ...]:
    cached = world.__dict__.get("_portals")
    if cached is not None and cached[0] == (world.as_of, world.portal_extra):
        return cached[1]  # type: ignore[no-any-return]
    planted = _portals(world.as_of)
    sites = planted + tuple(_extra_portal(planted[0], i) for i in range(world.portal_extra))
    world.__dict__["_portals"] = ((world.as_of, world.portal_extra), sites)
    return sites


def _extra_portal(template: Portal, i: int) -> Portal:
    """An ordinary healthy site shaped like the first planted portal (columns, board, links)."""
    site = copy.deepcopy(template)
    site.slug, site.name = f"site-{i:04d}", f"示范省第{i}号单位门户网站"
    site.site_id_code = f"99{i:08d}"
    site.archetype, site.expect = "ordinary", ()
    for column in site.columns:
        column.expect = ()
        for m in column.messages:
            m.expect = ()
    return site


UNREACHABLE = (
    "shiqiao",
    "河口县石桥镇人民政府网站",
    "990121101",
    "河口县石桥镇",
    "乡镇级",
    "河口县石桥镇人民政府",
)


# --- rendering ------------------------------------------------------------------------------------


def _href(p: Portal, path: str) -> str:
    return path if path.startswith("/") else p.root + path


def _strip_mark(path: str) -> str:
    return path.split("#", 1)[0]


def _layout(p: Portal, *, title: str, meta: dict[str, str], main: str, charset_meta: bool = True) -> str:
    nav = "".join(f'<li><a href="{p.root}{c.path}">{escape(c.name)}</a></li>' for c in p.columns)
    charset = ""
    if charset_meta:
        charset = (
            '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
            if p.encoding == "gbk"
            else '<meta charset="utf-8">'
        )
    metas = "".join(f'<meta name="{k}" content="{escape(v)}">' for k, v in meta.items())
    return (
        f"<!DOCTYPE html><html><head>{charset}<title>{escape(title)}</title>{metas}"
        f'<link rel="stylesheet" href="{p.root}css/style.css"><script src="{p.root}js/common.js"></script>'
        f'</head><body><div class="header"><a href="{p.root}">'
        f'<img src="{p.root}images/logo.png" alt="{escape(p.name)}">'
        f'</a><a href="javascript:void(0)" class="wza">无障碍</a></div>'
        f'<div class="nav"><ul><li><a href="{p.root}">首页</a></li>{nav}</ul></div>'
        f'<div class="mobile-nav"><ul><li><a href="{p.root}index.html">网站首页</a></li>{nav}</ul></div>'
        f'<div class="main">{main}</div>'
        f'<div class="footer"><p>主办单位：{escape(p.org)}　联系邮箱：<a href="mailto:web@{p.slug}.gov.cn">'
        f'web@{p.slug}.gov.cn</a>　电话：<a href="tel:01000000000">0100-0000000</a></p>'
        f"<p>网站标识码：{p.site_id_code}　示ICP备{p.site_id_code[-6:]}号-1"
        f"　示公网安备 {p.region_code}02000{p.site_id_code[-2:]}号</p></div></body></html>"
    )


def _site_meta(p: Portal) -> dict[str, str]:
    return {"SiteName": p.name, "SiteDomain": f"www.{p.slug}.gov.cn", "SiteIDCode": p.site_id_code}


def _row(p: Portal, style: str, a: Article) -> str:
    href, t = _href(p, a.path), escape(a.title)
    if style == "cn":
        d = a.published_at
        return f'<li><a href="{href}" title="{t}">{t}</a><span>{d.year}年{d.month}月{d.day}日</span></li>'
    if style == "bracket":
        return f'<li><a href="{href}" title="{t}">{t}</a> <em>[{a.published_at:%Y-%m-%d}]</em></li>'
    if style == "md":
        return f'<li><a href="{href}" title="{t}">{t}</a><span>[{a.published_at:%m-%d}]</span></li>'
    if style == "linktext":
        return f'<li><a href="{href}">{t}（{a.published_at:%Y-%m-%d}）</a></li>'
    if style == "nodate":
        return f'<li><a href="{href}" title="{t}">{t}</a></li>'
    if style == "hanweb":
        return f'<li><a href="{href}" target="_blank">{t}　{a.published_at:%Y-%m-%d}</a></li>'
    return f'<li><a href="{href}" title="{t}">{t}</a><span class="date">{a.published_at:%Y-%m-%d}</span></li>'


def _table(p: Portal, arts: list[Article]) -> str:
    rows = "".join(
        f"<tr><td>{p.region_code}-{a.published_at:%Y}-{a.docid:05d}</td>"
        f'<td><a href="{_href(p, a.path)}" title="{escape(a.title)}">{escape(a.title)}</a></td>'
        f"<td>{(a.published_at - timedelta(days=3)):%Y-%m-%d}</td><td>{a.published_at:%Y-%m-%d}</td></tr>"
        for a in arts
    )
    return (
        '<table class="xxgk-table"><tr><th>索引号</th><th>标题</th><th>成文日期</th><th>发布日期</th></tr>'
        f"{rows}</table>"
    )


def render_home(p: Portal, base: str) -> str:
    blocks = []
    for c in p.columns:
        if c.style in (*BOARD_STYLES, "blank", "js") or not c.articles:
            continue
        rows = "".join(_row(p, "span", a) for a in c.articles[:5])
        blocks.append(
            f'<div class="block"><div class="block-title"><h2>{escape(c.name)}</h2>'
            f'<a class="more" href="{p.root}{c.path}">更多</a></div><ul class="news-list">{rows}</ul></div>'
        )
    extras = []
    for kind, path in p.home_links:
        href = _strip_mark(path)
        href = f"{base}{href}" if kind == "external" else _href(p, href)
        if kind == "img":
            extras.append(f'<img src="{href}" alt="专题图片">')
        elif kind == "external":
            extras.append(f'<a href="{href}" target="_blank">相关网站</a>')
        else:
            extras.append(f'<a href="{href}">{"附件下载" if kind == "attachment" else "专题报告"}</a>')
    services = '<div class="service"><a href="#top">返回顶部</a></div>'
    main = "".join(blocks) + f'<div class="banner">{"".join(extras)}</div>' + services
    return _layout(p, title=p.name, meta=_site_meta(p), main=main)


def _pages(c: Column) -> list[list[Article]]:
    return [c.articles[i : i + c.per_page] for i in range(0, len(c.articles), c.per_page)] or [[]]


def _pager(c: Column, n: int, total: int) -> str:
    if c.pager == "trs":
        return f'<script>createPageHTML({total}, {n}, "index", "html");</script>'
    if c.pager == "count":
        return (
            f"<script>var countPage = {total};var currentPage = {n};"
            'var prefix = "index";var suffix = "html";</script>'
        )
    if n + 1 >= total:
        return '<div class="pager"><span>下一页</span></div>'
    nxt = f"?page={n + 2}" if c.pager == "query" else f"index_{n + 1}.html"
    return f'<div class="pager"><a href="{nxt}">下一页</a></div>'


def render_column(p: Portal, c: Column, n: int, base: str) -> str | None:
    meta = {
        **_site_meta(p),
        "ColumnName": c.name,
        "ColumnType": c.column_type,
        "ColumnDescription": f"{p.name}{c.name}栏目",
        "ColumnKeywords": c.name,
    }
    extra = "".join(f'<li><a href="{_href(p, x)}">往期专题</a></li>' for x in c.extra_links)
    side = f'<div class="sidebar"><ul>{extra}</ul></div>' if extra else ""
    crumb = f'<div class="crumb">当前位置：<a href="{p.root}">首页</a> &gt; {escape(c.name)}</div>'
    if c.style == "blank":
        main = '<ul class="list"></ul><div class="empty">暂无信息</div>'
    elif c.style == "hub":
        main = (
            f'<div class="xxgk-hub"><p>{escape(p.name)}政府信息公开指南、制度与年度报告。</p>'
            f'<img src="{p.root}images/xxgk.png" alt="信息公开"></div>'
        )
    elif c.style == "js":
        data = [
            {"aT": a.title, "aPd": f"{a.published_at:%Y-%m-%d}", "aU": _href(p, a.path)} for a in c.articles
        ]
        main = (
            '<ul class="list" id="itemList"></ul><script>var itemObj = '
            + json.dumps(data, ensure_ascii=False)
            + ';var html = "";for (var i = 0; i < itemObj.length; i++) {var it = itemObj[i];'
            "html += '<li><a href=\"' + it.aU + '\" title=\"' + it.aT + '\">' + it.aT + '</a>"
            "<span class=\"date\">' + it.aPd + '</span></li>';}"
            'document.getElementById("itemList").innerHTML = html;</script>'
        )
    elif c.style == "board":
        rows = "".join(
            f'<li><a href="{p.root}{c.path}detail.html?id={m.mid}" title="{escape(m.title)}">'
            f"{escape(m.title)}</a>"
            f'<span class="type">{m.category}</span><span class="unit">{escape(m.unit)}</span>'
            f'<span class="status">{m.status}</span>'
            f'<span class="date">{m.asked_at:%Y-%m-%d}</span></li>'
            for m in c.messages
        )
        main = f'<ul class="msg-list">{rows}</ul>'
    elif c.style == "board_mt10":
        letters = c.messages[n * c.per_page : (n + 1) * c.per_page]
        if not letters:
            return None
        total = -(-len(c.messages) // c.per_page)
        rows = "".join(
            f'<li><span><a href="{p.root}{c.path}detail.html?id={m.mid}" target="_blank">'
            f"{escape(m.title)}</a></span><span>{m.category}</span><span>{escape(m.unit)}</span>"
            f"<span>{m.status}</span>"
            f"<span>{m.asked_at:%Y-%m-%d}</span></li>"
            for m in letters
        )
        pager = f'<a href="?page={n + 2}">下一页</a>' if n + 1 < total else "<span>下一页</span>"
        main = (
            '<div class="list_title"><span>信件标题</span><span>类型</span><span>答复部门</span>'
            f'<span>状态</span><span>发布时间</span></div><ul class="mt10">{rows}</ul>'
            f'<div class="page"><span>共 {total} 页</span>{pager}</div>'
        )
    elif c.style == "hanweb":
        pages = _pages(c)
        first = "".join(f"<record><![CDATA[{_row(p, 'hanweb', a)}]]></record>" for a in pages[0])
        proxy = (
            f"{p.root}module/web/jpage/dataproxy.jsp?page=1&amp;webid=12&amp;path=/&amp;columnid={c.colid}"
            f"&amp;unitid=5678&amp;permissiontype=0"
        )
        main = (
            f'<div id="{c.colid}"><script type="text/xml"><datastore>'
            f'<nextgroup><![CDATA[<a href="{proxy}"></a>]]>'
            f"</nextgroup><recordset>{first}</recordset></datastore></script></div>"
            f"<script>$(document).ready(function(){{$('#{c.colid}').jpage({{dataStore: dataStore, "
            f"proxyUrl: '{p.root}module/web/jpage/dataproxy.jsp', perPage: {c.per_page}, "
            f"totalRecord: {len(c.articles)}, webid: 12}});}});</script>"
        )
    else:
        pages = _pages(c)
        if n >= len(pages):
            return None
        if c.style == "table":
            body = _table(p, pages[n])
        else:
            body = '<ul class="list">' + "".join(_row(p, c.style, a) for a in pages[n]) + "</ul>"
        main = body + _pager(c, n, len(pages))
    return _layout(
        p, title=f"{c.name}_{p.name}", meta=meta, main=crumb + side + main, charset_meta=p.encoding != "gbk"
    )  # TRS list pages: charset in the HTTP header only


def render_article(p: Portal, c: Column, a: Article) -> str:
    meta = {
        **_site_meta(p),
        "ColumnName": c.name,
        "ColumnType": c.column_type,
        "ArticleTitle": a.title,
        "PubDate": f"{a.published_at:%Y-%m-%d %H:%M}",
        "ContentSource": p.org,
    }
    attach = f'<p>附件：<a href="{_href(p, a.attachment)}">附件1</a></p>' if a.attachment else ""
    body_class = "TRS_Editor" if p.cms == "trs" else "content"
    main = (
        f"<h1>{escape(a.title)}</h1>"
        f"<div class='info'>发布日期：{a.published_at:%Y-%m-%d %H:%M}　来源：{escape(p.org)}</div>"
        f"<div class='{body_class}'><p>{escape(a.title)}。</p>{attach}</div>"
    )
    return _layout(p, title=a.title, meta=meta, main=main)


def render_message(p: Portal, c: Column, m: Message) -> str:
    replied = f"{m.answered_at:%Y-%m-%d %H:%M}" if m.answered_at and m.reply_shown else ""
    reply = "您好，来信收悉，现答复如下：已按规定办理。" if m.answered_at else ""
    if c.style == "board_mt10":
        # 佳木斯's message page: each value in a <span id=…> after its label text
        spans = (
            ("来信人", "releaseMan", "市民"),
            ("咨询时间", "zxsj", f"{m.asked_at:%Y-%m-%d %H:%M:%S}"),
            ("信件标题", "title", m.title),
            ("所属类型", "conType", m.category),
            ("处理情况", "state", m.status),
            ("承办单位", "conDept", m.unit),
            ("处理时间", "replyTime", replied),
            ("处理结果", "replyContent", reply if m.reply_shown else ""),
        )
        body = "".join(f'<p>{k}：<span id="{i}">{escape(v)}</span></p>' for k, i, v in spans)
        return _layout(p, title=m.title, meta=_site_meta(p), main=f'<div class="xjxq">{body}</div>')
    rows = [
        ("信件编号", m.mid),
        ("信件标题", m.title),
        ("信件类型", m.category),
        ("来信时间", f"{m.asked_at:%Y-%m-%d %H:%M}"),
        ("答复单位", m.unit),
        ("办理状态", m.status),
        ("答复时间", replied),
        ("答复内容", reply),
    ]
    table = "".join(f"<tr><th>{k}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return _layout(p, title=m.title, meta=_site_meta(p), main=f'<table class="msg-detail">{table}</table>')


def hanweb_proxy(p: Portal, c: Column, page: int) -> str:
    pages = _pages(c)
    records = "".join(
        f"<record><![CDATA[{_row(p, 'hanweb', a)}]]></record>"
        for a in (pages[page - 1] if page <= len(pages) else [])
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><datastore>'
        f"<totalrecord>{len(c.articles)}</totalrecord><totalpage>{len(pages)}</totalpage>"
        f"<recordset>{records}</recordset></datastore>"
    )


# --- routes ---------------------------------------------------------------------------------------

STATIC_TYPES = {
    "css": "text/css",
    "js": "application/javascript",
    "png": "image/png",
    "jpg": "image/jpeg",
    "pdf": "application/pdf",
    "xls": "application/vnd.ms-excel",
    "docx": "application/octet-stream",
}


def _dead(p: Portal) -> set[str]:
    dead = {_strip_mark(x) for _, x in p.home_links if x.endswith("#dead")}
    for c in p.columns:
        dead.update(c.extra_links)
        dead.update(a.attachment for a in c.articles if a.attachment)
    return dead


def _encode(p: Portal, html: str, *, header_charset: bool = True) -> Response:
    if p.encoding == "gbk":
        ctype = "text/html; charset=GBK" if header_charset else "text/html"
        return Response(200, html.encode("gbk", "replace"), ctype)
    return Response(200, html.encode())


def serve_site(world: World, req: Request) -> Response:
    assert req.match is not None
    p = next((x for x in portals(world) if x.slug == req.match["slug"]), None)
    if p is None:
        return Response(404, b"<h1>404 Not Found</h1>")
    rest = req.match["rest"]
    if rest in ("", "index.html"):
        # The TRS homepage declares gb2312 in <meta> only; the header has no charset.
        return _encode(p, render_home(p, req.base_url), header_charset=False)
    if rest in _dead(p):
        return Response(404, b"<html><body><h1>404 Not Found</h1></body></html>")
    if rest.startswith("files/tongji"):
        return Response(500, b"<h1>500 Internal Server Error</h1>")
    if rest.startswith("slow/"):
        time.sleep(SLOW_SECONDS)
        return Response(200, b"<html><body>slow</body></html>")
    if any(c.style == "down" and rest.startswith(c.path) for c in p.columns):
        return Response(503, b"<h1>503 Service Unavailable</h1>")
    ext = rest.rsplit(".", 1)[-1]
    if rest.split("/", 1)[0] in ("css", "js", "images", "files") and ext in STATIC_TYPES:
        return Response(200, b"demo", STATIC_TYPES[ext])
    if rest == "module/web/jpage/dataproxy.jsp":
        c = next((c for c in p.columns if str(c.colid) == req.query.get("columnid")), None)
        if c is None:
            return Response(404, b"<h1>404</h1>")
        body = hanweb_proxy(p, c, int(req.query.get("page", "1")))
        return Response(200, body.encode(), "text/xml; charset=utf-8")
    for c in p.columns:
        if rest.startswith(c.path) or c.style == "hanweb":
            sub = rest[len(c.path) :] if rest.startswith(c.path) else None
            if sub in ("", "index.html"):
                n = int(req.query.get("page", "1")) - 1 if c.pager == "query" else 0
                html = render_column(p, c, n, req.base_url)
                return _encode(p, html) if html else Response(404, b"<h1>404</h1>")
            if sub and sub.startswith("index_") and sub.endswith(".html"):
                html = render_column(p, c, int(sub[6:-5]), req.base_url)
                return _encode(p, html) if html else Response(404, b"<h1>404</h1>")
            if sub == "detail.html":
                m = next((m for m in c.messages if m.mid == req.query.get("id")), None)
                return _encode(p, render_message(p, c, m)) if m else Response(404, b"<h1>404</h1>")
            a = next((a for a in c.articles if a.path == rest), None)
            if a is not None:
                return _encode(p, render_article(p, c, a))
    return Response(404, b"<html><body><h1>404 Not Found</h1></body></html>")


def routes(world: World, router: Router) -> None:
    router.add(r"/sites/(?P<slug>[\w-]+)/(?P<rest>.*)", lambda req: serve_site(world, req))


def targets(world: World, base: str) -> list[dict[str, Any]]:
    rows = [
        {
            "platform": "portal",
            "name": p.name,
            "url": f"{base}{p.root}",
            "org": p.org,
            "region_code": p.region_code,
            "region_name": p.region_name,
            "level": p.level,
            "tags": ["demo", "portal", p.archetype],
        }
        for p in portals(world)
    ]
    slug, name, code, region, level, org = UNREACHABLE
    rows.append(
        {
            "platform": "portal",
            "name": name,
            "url": f"{UNREACHABLE_BASE}/sites/{slug}/",
            "org": org,
            "region_code": code,
            "region_name": region,
            "level": level,
            "tags": ["demo", "portal", "unreachable"],
        }
    )
    return rows


# --- what was planted -----------------------------------------------------------------------------


def _age(world: World, when: datetime) -> int:
    return (world.as_of - when).days


def planted(world: World, base: str) -> list[dict[str, Any]]:
    """Every defect and state the portals carry, for tests and the README (ages relative to as_of)."""
    out: list[dict[str, Any]] = []
    for p in portals(world):
        root = f"{base}{p.root}"
        if p.archetype == "healthy":
            out.append(
                {"kind": "healthy_portal", "target": p.name, "url": root, "site_id_code": p.site_id_code}
            )
        for c in p.columns:
            if c.style == "hub":
                out.append({"kind": "parse_failed_column", "target": p.name, "url": f"{root}{c.path}"})
            elif c.style == "down":
                out.append({"kind": "unreachable_column", "target": p.name, "url": f"{root}{c.path}"})
        if p.archetype == "gbk_trs" or p.archetype == "hanweb":
            for c in p.columns:
                if not c.articles:
                    continue
                out.append(
                    {
                        "kind": "paginated_column",
                        "target": p.name,
                        "url": f"{root}{c.path}",
                        "cms": p.cms,
                        "encoding": p.encoding,
                        "items": len(c.articles),
                        "pages": len(_pages(c)),
                        "newest_at": max(a.published_at for a in c.articles).isoformat(),
                    }
                )
        out += _board_plants(world, p, root)
        if p.archetype != "defective":
            continue
        out.append(
            {"kind": "invalid_site_id_code", "target": p.name, "url": root, "site_id_code": p.site_id_code}
        )
        newest = max(
            a.published_at
            for c in p.columns
            if c.style not in (*BOARD_STYLES, "blank", "js")
            for a in c.articles[:5]
        )
        out.append(
            {
                "kind": "homepage_stale",
                "target": p.name,
                "url": root,
                "newest_at": newest.isoformat(),
                "age_days": _age(world, newest),
            }
        )
        for c in p.columns:
            url = f"{root}{c.path}"
            if c.style == "blank":
                out.append({"kind": "blank_column", "target": p.name, "url": url, "column": c.name})
            elif c.style == "js":
                newest_js = max(a.published_at for a in c.articles)
                out.append(
                    {
                        "kind": "js_rendered_column",
                        "target": p.name,
                        "url": url,
                        "column": c.name,
                        "items": len(c.articles),
                        "newest_at": newest_js.isoformat(),
                    }
                )
            elif c.articles and "portal.column_stale" in c.expect:
                newest_c = max(a.published_at for a in c.articles)
                out.append(
                    {
                        "kind": "stale_column",
                        "target": p.name,
                        "url": url,
                        "column": c.name,
                        "newest_at": newest_c.isoformat(),
                        "age_days": _age(world, newest_c),
                    }
                )
            for m in c.messages:
                if m.answered_at is None:
                    out.append(
                        {
                            "kind": "unanswered_message",
                            "target": p.name,
                            "url": f"{url}detail.html?id={m.mid}",
                            "message_id": m.mid,
                            "board_kind": "petition" if c.path == "xfts/" else "consultation",
                            "asked_at": m.asked_at.isoformat(),
                            "age_days": _age(world, m.asked_at),
                            "page": c.messages.index(m) // c.per_page + 1 if c.style == "board_mt10" else 1,
                            "expect": m.expect,
                        }
                    )
        for kind, path in p.home_links:
            href, mark = path.split("#", 1)
            url = f"{base}{href}" if kind == "external" else f"{root}{href}"
            outcome = {"dead": "not_found", "error": "server_error", "slow": "timeout"}[mark]
            out.append(
                {
                    "kind": "dead_link",
                    "target": p.name,
                    "url": url,
                    "found_on": root,
                    "where": "homepage",
                    "resource": kind,
                    "outcome": outcome,
                }
            )
        for c in p.columns:
            for x in c.extra_links:
                out.append(
                    {
                        "kind": "dead_link",
                        "target": p.name,
                        "url": f"{root}{x}",
                        "found_on": f"{root}{c.path}",
                        "where": "column",
                        "resource": "link",
                        "outcome": "not_found",
                    }
                )
            for a in c.articles:
                if a.attachment:
                    out.append(
                        {
                            "kind": "dead_link",
                            "target": p.name,
                            "url": f"{root}{a.attachment}",
                            "found_on": f"{root}{a.path}",
                            "where": "article",
                            "resource": "attachment",
                            "outcome": "not_found",
                        }
                    )
    slug, name, *_ = UNREACHABLE
    out.append({"kind": "unreachable", "target": name, "url": f"{UNREACHABLE_BASE}/sites/{slug}/"})
    return out


def _board_plants(world: World, p: Portal, root: str) -> list[dict[str, Any]]:
    """Boards read page after page, and messages whose board shows less than it knows: answered with no
    reply date shown, or shown without any status word (none of them is a finding)."""
    out: list[dict[str, Any]] = []
    for c in p.columns:
        url = f"{root}{c.path}"
        if c.style == "board_mt10":
            out.append(
                {
                    "kind": "paged_board",
                    "target": p.name,
                    "url": url,
                    "column": c.name,
                    "messages": len(c.messages),
                    "per_page": c.per_page,
                    "pages": -(-len(c.messages) // c.per_page),
                }
            )
        for m in c.messages:
            if m.answered_at is None or (m.reply_shown and m.shows_status):
                continue
            out.append(
                {
                    "kind": "answered_undated_message" if m.shows_status else "unknown_state_message",
                    "target": p.name,
                    "url": f"{url}detail.html?id={m.mid}",
                    "board_url": url,
                    "message_id": m.mid,
                    "status": m.status,
                    "asked_at": m.asked_at.isoformat(),
                    "age_days": _age(world, m.asked_at),
                }
            )
    return out


# The verdict each portal archetype must get: the defective portal and the unreachable one fail on
# vetoes; the others pass (a column that could not be read makes the check partial, not a failure).
EXPECTED_VERDICTS: dict[str, str] = {
    "healthy": "合格",
    "defective": "不合格",
    "gbk_trs": "合格",
    "hanweb": "合格",
    "unreachable": "不合格",
}


def expected_findings(world: World, base: str) -> set[tuple[str, str, str, str]]:
    """(target name, platform, rule, subject) of every finding detection must open for the portals.

    Each plant names the rules it must trigger (Portal.expect, Column.expect, Message.expect): a column's
    findings have its URL as subject, a message's its id. Dead links planted on the homepage are one
    portal.dead_link_homepage each (subject: the URL), and so is the homepage navigation link of a column
    whose CMS answers 503. The unreachable portal gets portal.unreachable and nothing else.
    """
    out: set[tuple[str, str, str, str]] = set()
    for p in portals(world):
        out |= {(p.name, "portal", rule, "") for rule in p.expect}
        for c in p.columns:
            out |= {(p.name, "portal", rule, f"{base}{p.root}{c.path}") for rule in c.expect}
            for m in c.messages:
                out |= {(p.name, "portal", rule, m.mid) for rule in m.expect}
    for x in planted(world, base):
        if (x["kind"] == "dead_link" and x["where"] == "homepage") or x["kind"] == "unreachable_column":
            out.add((x["target"], "portal", "portal.dead_link_homepage", x["url"]))
        elif x["kind"] == "unreachable":
            out.add((x["target"], "portal", "portal.unreachable", ""))
    return out
