"""Portal parsers on saved pages of each CMS family and encoding (TRS GBK, Hanweb datastore, generic)."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.clock import CHINA_TZ
from core.enums import ColumnKind
from spiders.portal import (
    ColumnRule,
    build_message,
    classify_board,
    classify_column,
    detect_cms,
    discover_columns,
    ensure_encoding,
    extract_links,
    find_homepage_items,
    hanweb_entries,
    is_valid_site_id_code,
    load_column_rules,
    parse_article_date,
    parse_column_page,
    parse_list_date,
    parse_message_detail,
    parse_message_list,
    parse_site_meta,
    site_root,
)
from tests.helpers import fixture_path, fixture_response

AS_OF = datetime(2024, 6, 30, 12, 0, tzinfo=CHINA_TZ)


def d(y: int, m: int, day: int) -> datetime:
    return datetime(y, m, day, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06-05", d(2024, 6, 5)),
        ("[2019-01-02]", d(2019, 1, 2)),
        ("2024年6月5日", d(2024, 6, 5)),
        ("2020年08月02日", d(2020, 8, 2)),
        ("2024/6/5", d(2024, 6, 5)),
        ("[06-05]", d(2024, 6, 5)),
        ("06-05", d(2024, 6, 5)),
        ("[12-29]", d(2023, 12, 29)),  # a month-day after as_of is last year's
        ("[07-01]", d(2024, 7, 1)),  # the day after as_of: still this year (clock skew tolerance)
        ("[07-02]", d(2023, 7, 2)),
        ("市政府召开常务会议 2024-06-03", d(2024, 6, 3)),
        ("索引号 000014349/2024-00021", None),
        ("2024-02-30", None),
        ("", None),
    ],
)
def test_parse_list_date(text: str, expected: datetime | None) -> None:
    assert parse_list_date(text, AS_OF) == expected


def test_site_id_code_format() -> None:
    assert is_valid_site_id_code("1304000009")
    assert is_valid_site_id_code("bm12345678")
    assert not is_valid_site_id_code("99020000")
    assert not is_valid_site_id_code("13040000091")
    assert not is_valid_site_id_code("BM12345678")
    assert not is_valid_site_id_code(None)


def test_trs_gbk_column_header_charset_and_script_pagination() -> None:
    url = "http://www.mouxian.gov.cn/zwdt/gzdt/"
    raw = fixture_path("portal", "trs_column_gbk.html").read_bytes()
    assert "县长".encode("gbk") in raw  # the fixture really is GBK on disk
    page = ensure_encoding(
        fixture_response(
            "portal", "trs_column_gbk.html", url, headers={"Content-Type": "text/html; charset=GBK"}
        )
    )
    parsed = parse_column_page(page.selector, url, AS_OF)
    assert parsed.adapter == "trs"
    assert parsed.found
    assert [(e.title, e.published_at) for e in parsed.entries] == [
        ("县长主持召开县政府常务会议", d(2024, 6, 5)),
        ("全县安全生产工作会议召开", d(2024, 6, 3)),
        ("我县开展防汛应急演练", d(2024, 5, 28)),
        ("县领导走访慰问困难群众", d(2023, 12, 29)),
    ]
    assert parsed.entries[0].url == "http://www.mouxian.gov.cn/zwdt/gzdt/202406/t20240605_3187261.html"
    assert len(parsed.page_urls) == 55
    assert parsed.page_urls[:2] == [f"{url}index_1.html", f"{url}index_2.html"]
    assert parsed.page_urls[-1] == f"{url}index_55.html"
    assert detect_cms(page.text, url) == "trs"
    meta = parse_site_meta(page.selector)
    assert meta.site_id_code == "1304000009"
    assert meta.site_id_code_valid == 1
    assert meta.icp == "冀ICP备05001234号"
    assert meta.police_record == "冀公网安备13040002000123号"
    assert meta.organizer == "某县人民政府办公室"


def test_trs_table_gb2312_meta_charset_publish_date_column_and_count_page() -> None:
    url = "http://www.mouxian.gov.cn/xxgk/zcwj/index.shtml"
    page = ensure_encoding(fixture_response("portal", "trs_table_gb2312.html", url))
    assert page.encoding in ("gb18030", "gbk", "gb2312")
    parsed = parse_column_page(page.selector, url, AS_OF)
    # 发布日期 is taken, not 成文日期 or the 索引号.
    assert [(e.title, e.published_at) for e in parsed.entries] == [
        ("关于印发某县优化营商环境若干措施的通知", d(2024, 3, 15)),
        ("关于做好2024年春节期间有关工作的通知", d(2024, 1, 22)),
    ]
    assert parsed.page_urls == [
        "http://www.mouxian.gov.cn/xxgk/zcwj/index_1.shtml",
        "http://www.mouxian.gov.cn/xxgk/zcwj/index_2.shtml",
    ]


def test_undeclared_gbk_is_sniffed() -> None:
    page = ensure_encoding(fixture_response("portal", "undeclared_gbk.html", "http://x.gov.cn/tzgg/"))
    parsed = parse_column_page(page.selector, page.url, AS_OF)
    assert parsed.entries[0].title == "关于开展城乡环境整治的通知"


def test_hanweb_datastore_first_page_and_dataproxy_pages() -> None:
    url = "http://www.moushi.gov.cn/col/col1229001/index.html"
    page = ensure_encoding(fixture_response("portal", "hanweb_column.html", url))
    parsed = parse_column_page(page.selector, url, AS_OF)
    assert parsed.adapter == "hanweb"
    assert [(e.title, e.published_at) for e in parsed.entries] == [
        ("市交通局部署汛期安全工作", d(2024, 6, 5)),
        ("市教育局召开中考工作会议", d(2024, 6, 3)),  # the date written inside the link text
        ("市卫健委开展义诊活动", d(2024, 5, 30)),
    ]
    assert parsed.entries[0].url == "http://www.moushi.gov.cn/art/2024/6/5/art_1229001_59012345.html"
    # totalRecord 8 / perPage 3 = 3 pages; pages 2 and 3 come from dataproxy.jsp.
    assert len(parsed.page_urls) == 2
    assert parsed.page_urls[0].startswith("http://www.moushi.gov.cn/module/web/jpage/dataproxy.jsp?")
    assert "page=2" in parsed.page_urls[0]
    assert "columnid=1229001" in parsed.page_urls[0]
    assert "page=3" in parsed.page_urls[1]
    assert detect_cms(page.text, url) == "hanweb"
    xml = fixture_path("portal", "hanweb_dataproxy.xml").read_text(encoding="utf-8")
    more = hanweb_entries(xml, url, AS_OF)
    assert [(e.title, e.published_at) for e in more] == [
        ("市司法局开展普法宣传", d(2024, 5, 20)),
        ("市统计局发布一季度数据", d(2024, 5, 18)),
    ]


def test_generic_list_chinese_dates_query_pagination_skips_javascript() -> None:
    url = "http://www.moushi.gov.cn/rsxx/"
    page = ensure_encoding(fixture_response("portal", "generic_column_query.html", url))
    parsed = parse_column_page(page.selector, url, AS_OF)
    assert parsed.adapter == "generic"
    assert [(e.url, e.published_at) for e in parsed.entries] == [
        ("http://www.moushi.gov.cn/rsxx/2024/0605/c1.html", d(2024, 6, 5)),
        ("http://www.moushi.gov.cn/rsxx/2024/0410/c2.html", d(2024, 4, 10)),
    ]
    assert parsed.next_url == "http://www.moushi.gov.cn/rsxx/?page=2"


def test_blank_column_is_not_a_parse_failure_and_hub_page_is() -> None:
    blank = parse_column_page(
        ensure_encoding(fixture_response("portal", "blank_column.html", "http://x.gov.cn/ztzl/")).selector,
        "http://x.gov.cn/ztzl/",
        AS_OF,
    )
    assert blank.entries == []
    assert blank.empty_marker
    hub = parse_column_page(
        ensure_encoding(fixture_response("portal", "hub_page.html", "http://x.gov.cn/xxgk/")).selector,
        "http://x.gov.cn/xxgk/",
        AS_OF,
    )
    assert hub.entries == []
    assert not hub.found
    assert not hub.empty_marker


def test_script_list_asks_for_the_browser() -> None:
    page = ensure_encoding(fixture_response("portal", "script_column.html", "http://x.gov.cn/tpxw/"))
    parsed = parse_column_page(page.selector, page.url, AS_OF)
    assert parsed.needs_browser
    assert parsed.entries == []


def test_homepage_meta_columns_items_and_links() -> None:
    url = "http://www.moushi.gov.cn/"
    page = ensure_encoding(fixture_response("portal", "homepage.html", url))
    meta = parse_site_meta(page.selector)
    assert (meta.site_name, meta.site_domain, meta.site_id_code) == (
        "某市人民政府门户网站",
        "www.moushi.gov.cn",
        "3301000001",
    )
    assert meta.site_id_code_valid == 1
    assert meta.icp == "浙ICP备05001234号-2"
    assert meta.organizer == "某市人民政府办公厅"
    columns = discover_columns(page.selector, url, site_root(url))
    # Duplicated navigation folded, the external 中国政府网 and 首页 left out, 更多 blocks added.
    assert [(c.url, c.name, c.source) for c in columns] == [
        ("http://www.moushi.gov.cn/zwdt/", "政务动态", "nav"),
        ("http://www.moushi.gov.cn/tzgg/index.html", "通知公告", "nav"),
        ("http://www.moushi.gov.cn/zmhd/ldxx/", "领导信箱", "nav"),
        ("http://www.moushi.gov.cn/zcjd/", "政策解读", "block"),
    ]
    items, _, _ = find_homepage_items(page.selector, url, AS_OF)
    assert [e.published_at for e in items] == [d(2024, 6, 5), d(2024, 6, 1), None]
    links = extract_links(page.selector, url)
    assert "http://www.moushi.gov.cn/images/logo.png" in links
    assert "http://www.moushi.gov.cn/css/index.css" in links
    assert "http://www.moushi.gov.cn/files/2024gzbg.pdf" in links
    assert "https://www.gov.cn/" in links
    assert not [u for u in links if u.startswith(("javascript", "mailto", "tel")) or "#" in u]
    assert links.count("http://www.moushi.gov.cn/zwdt/") == 1


def test_site_id_code_meta_footer_mismatch_is_invalid() -> None:
    from parsel import Selector

    sel = Selector(
        text="<html><head><meta name='SiteIDCode' content='1304000009'></head>"
        "<body><div class='footer'>网站标识码：3301000001</div></body></html>"
    )
    assert parse_site_meta(sel).site_id_code_valid == 0


@pytest.mark.parametrize(
    ("name", "url", "column_type", "kind", "rule"),
    [
        ("今日临江", "http://x/jryw/", "动态要闻", ColumnKind.NEWS, "type.news"),
        ("部门动态", "http://x/bmdt/", None, ColumnKind.NEWS, "name.news"),
        ("通知公告", "http://x/a/", None, ColumnKind.NOTICE, "name.notice"),
        ("规范性文件", "http://x/b/", None, ColumnKind.POLICY, "name.policy"),
        ("人事任免", "http://x/c/", None, ColumnKind.PERSONNEL, "name.personnel"),
        ("十四五规划", "http://x/d/", None, ColumnKind.PLAN, "name.plan"),
        ("市长信箱", "http://x/e/", None, ColumnKind.INTERACTION, "name.interaction"),
        ("办事指南", "http://x/f/", None, ColumnKind.SERVICE, "name.service"),
        ("栏目一", "http://x/tzgg/", None, ColumnKind.NOTICE, "url.notice"),
        ("专题专栏", "http://x/ztzl/", None, ColumnKind.OTHER, "default"),
        ("新闻中心", "http://x/g/", "通知公告", ColumnKind.NOTICE, "type.notice"),  # meta wins over the name
    ],
)
def test_classify_column(name: str, url: str, column_type: str | None, kind: str, rule: str) -> None:
    assert classify_column(name=name, url=url, column_type=column_type) == (kind, rule)


def test_column_rules_are_configurable() -> None:
    rules = load_column_rules([["local.gk", "name", "政务公开", "政策文件"]])
    assert rules[0] == ColumnRule("local.gk", "name", "政务公开", "政策文件")
    assert classify_column(name="政务公开", url="http://x/", column_type=None, rules=rules) == (
        "政策文件",
        "local.gk",
    )
    with pytest.raises(ValueError, match="bad column rule"):
        load_column_rules([["x", "title", "a", "政策文件"]])


@pytest.mark.parametrize(
    ("name", "url", "kind"),
    [
        ("市长信箱", "http://x/ldxx/", "consultation"),
        ("网上咨询", "http://x/wszx/", "consultation"),
        ("网上信访", "http://x/xfts/", "petition"),
        ("纪委书记信箱", "http://x/jw/", "discipline"),
        ("在线访谈", "http://x/ft/", "interview"),
        ("民意征集", "http://x/zj/", "survey"),
        ("其他", "http://x/q/", "other"),
    ],
)
def test_classify_board(name: str, url: str, kind: str) -> None:
    assert classify_board(name, url) == kind


def test_message_list_and_details() -> None:
    url = "http://www.moushi.gov.cn/zmhd/wszx/"
    page = ensure_encoding(fixture_response("portal", "board_list.html", url))
    rows = parse_message_list(page.selector, url, AS_OF)
    assert [(r.title, r.category, r.unit, r.status, r.asked_at) for r in rows] == [
        ("孩子入学需要哪些材料", "咨询", "市教育局", "已回复", d(2024, 1, 2)),
        ("小区门口路灯不亮", "求助", "市城管局", "正在办理", d(2024, 3, 1)),
    ]
    open_detail = parse_message_detail(
        ensure_encoding(fixture_response("portal", "board_detail_open.html", rows[1].url)).selector
    )
    msg = build_message(
        rows[1], open_detail, target_id=1, board_url=url, board_kind="consultation", as_of=AS_OF
    )
    assert msg.message_id == "G20240301-0007"
    assert msg.asked_at == "2024-03-01T09:12:00+08:00"
    assert msg.answered_at is None
    assert msg.status == "正在办理"
    assert msg.unit == "市城管局"
    answered = parse_message_detail(
        ensure_encoding(fixture_response("portal", "board_detail_answered.html", rows[0].url)).selector
    )
    msg = build_message(rows[0], answered, target_id=1, board_url=url, board_kind="consultation", as_of=AS_OF)
    assert msg.message_id == "G20240102-0011"  # from the URL when the page shows no number
    assert msg.asked_at == "2024-01-02T10:30:00+08:00"
    assert msg.answered_at == "2024-01-05T16:00:00+08:00"
    assert msg.status == "已办结"
    assert msg.reply_text is not None
    assert msg.reply_text.startswith("您好")


def test_article_dates_from_pubdate_meta_or_visible_label() -> None:
    meta = fixture_response("portal", "article_pubdate.html", "http://x/rsxx/1.html")
    assert parse_article_date(meta.selector, AS_OF) == (d(2020, 8, 2), "pubdate_meta")
    page = fixture_response("portal", "article_visible_date.html", "http://x/rsxx/2.html")
    assert parse_article_date(page.selector, AS_OF) == (d(2024, 4, 10), "page")
