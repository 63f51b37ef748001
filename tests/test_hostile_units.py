"""The pure pieces of robustness, case by case: charset evidence, walls, homepages that are not pages,
credential redaction, Referers, failure outcomes, the parse guard."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from core.enums import CheckOutcome
from core.fields import as_column, drain_bad_fields
from core.redact import mask_secrets, redact_url, safe_referer
from crawler.guard import ParseGuardMiddleware
from spiders.charset import decode_by_evidence
from spiders.feed import FeedSpider
from spiders.outcomes import outcome_for_failure
from spiders.pagestate import classify_wall, classify_wall_url
from spiders.portal.homepage import read_homepage
from spiders.portal.lists import MAX_PAGE_URLS, hanweb_page_urls, trs_page_urls
from spiders.wechat import WechatSpider
from tests.helpers import fixture_path

PAGE = "<html><body><ul><li><a href='/a.html'>通知</a><span>2026年6月5日</span></li></ul></body></html>"


@pytest.mark.parametrize(
    ("body", "declared", "encoding", "overrides"),
    [
        (PAGE.encode("gbk"), "utf-8", "gb18030", True),  # GBK under charset=utf-8
        (PAGE.encode(), "gbk", "utf-8", True),  # UTF-8 under charset=gbk
        (PAGE.encode("gbk"), "gb2312", "gb18030", False),
        (PAGE.encode(), None, "utf-8", False),
        (PAGE.encode("gbk"), None, "gb18030", False),
        (PAGE.encode("gbk"), "iso-8859-1", "gb18030", True),  # a single-byte label on a Chinese page
        (b"plain ascii", "gbk", "gb18030", False),
    ],
)
def test_bytes_decode_by_evidence(body: bytes, declared: str | None, encoding: str, overrides: bool) -> None:
    d = decode_by_evidence(body, declared)
    assert (d.encoding, d.overrides_declaration) == (encoding, overrides)
    assert "2026年6月5日" in body.decode(d.encoding or "") or body.isascii()


def test_bytes_no_codec_reads_are_garbled() -> None:
    d = decode_by_evidence(bytes(range(256)) * 40, "utf-8")
    assert d.is_garbled
    assert d.describe() == "garbled (declared utf-8)"


def response(
    body: bytes, url: str = "http://127.0.0.1:9/", ctype: str = "text/html", **meta: object
) -> Response:
    return HtmlResponse(
        url, body=body, headers={"Content-Type": ctype}, request=Request(url, meta=dict(meta))
    )


@pytest.mark.parametrize(
    ("body", "ctype", "meta", "outcome"),
    [
        (b"", "text/html", {}, CheckOutcome.EMPTY),
        (b"   \n", "text/html", {}, CheckOutcome.EMPTY),
        (b"<html><body></body></html>", "text/html", {}, CheckOutcome.EMPTY),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png", {}, CheckOutcome.NOT_HTML),
        (b'{"ok": 1}', "application/json", {}, CheckOutcome.NOT_HTML),
        (b"<html>" + bytes(range(128, 256)) * 30, "text/html", {}, CheckOutcome.MALFORMED),
        (
            PAGE.encode(),
            "text/html",
            {"block_reason": "login page", "block_outcome": "login_required"},
            "login_required",
        ),
        (
            "<html><body><p>请输入验证码后继续访问</p><input name=code></body></html>".encode(),
            "text/html",
            {},
            CheckOutcome.BLOCKED,
        ),
        (b"<html><frameset><frame src='main.htm'></frameset></html>", "text/html", {}, None),
        (b"<script>location.href='/index.shtml'</script>", "", {}, None),
        (PAGE.encode("gbk"), "text/html; charset=utf-8", {}, None),
    ],
)
def test_only_a_readable_homepage_is_read(
    body: bytes, ctype: str, meta: dict[str, object], outcome: str
) -> None:
    assert read_homepage(response(body, ctype=ctype, **meta)).outcome == outcome


def test_the_real_homepage_fixture_is_readable() -> None:
    body = fixture_path("portal", "homepage.html").read_bytes()
    home = read_homepage(response(body, ctype="text/html"))
    assert home.outcome is None
    assert home.page is not None


@pytest.mark.parametrize(
    ("url", "redirected", "outcome"),
    [
        ("http://127.0.0.1:9/sso/login?service=http%3A%2F%2Fx%2F", True, CheckOutcome.LOGIN_REQUIRED),
        ("https://sso.example.gov.cn/cas/login?service=x", True, CheckOutcome.LOGIN_REQUIRED),
        ("https://passport.weibo.cn/signin/login?r=x", False, CheckOutcome.LOGIN_REQUIRED),
        ("http://127.0.0.1:9/verify/captcha?from=x", True, CheckOutcome.BLOCKED),
        ("https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?x=1", False, CheckOutcome.BLOCKED),
        ("http://www.cas.cn/index.html", True, None),  # an academy, not a CAS login
        ("http://127.0.0.1:9/authority/index.html", True, None),
        ("http://127.0.0.1:9/sso/", False, None),  # only a redirect makes the broad marks count
    ],
)
def test_walls_by_url(url: str, redirected: bool, outcome: CheckOutcome | None) -> None:
    state = classify_wall_url(url, redirected=redirected)
    assert (state.outcome if state else None) == outcome


def test_a_homepage_with_a_login_box_is_not_a_wall() -> None:
    text = "首页 政务公开 用户登录 请输入验证码 " + "新闻 " * 500
    assert classify_wall(text, "http://127.0.0.1:9/", redirected=False, links=80, has_password=True) is None
    small = classify_wall("用户登录", "http://127.0.0.1:9/", redirected=False, links=1, has_password=True)
    assert small is not None
    assert small.outcome == CheckOutcome.LOGIN_REQUIRED
    letter = "我要写信 标题 内容 请输入验证码 提交"  # a board's letter form asks for a 验证码 too
    assert (
        classify_wall(letter, "http://127.0.0.1:9/xjxx/", redirected=False, links=3, has_textarea=True)
        is None
    )


def test_credentials_are_redacted_at_any_depth() -> None:
    inner = "http://127.0.0.1:9/cgi-bin/appmsgpublish?sub=list&token=1789654321&f=json"
    sso = f"http://127.0.0.1:9/sso/login?service={quote(inner, safe='')}"
    assert "1789654321" not in redact_url(sso)
    assert "appmsgpublish" in redact_url(sso)
    assert (
        redact_url("http://127.0.0.1:9/list.jsp?code=110000&page=2")
        == "http://127.0.0.1:9/list.jsp?code=110000&page=2"
    )
    assert mask_secrets(f"x {quote(quote('a b+c/d'))} y", ["a b+c/d"]) == "x *** y"


@pytest.mark.parametrize(
    ("referer", "url", "sent"),
    [
        (
            "http://127.0.0.1:1/cgi-bin/appmsgpublish?token=1789654321",
            "http://localhost:2/s?x",
            "http://127.0.0.1:1/",
        ),
        (
            "http://127.0.0.1:1/cgi-bin/appmsgpublish?token=1789654321",
            "http://127.0.0.1:1/next",
            "http://127.0.0.1:1/",
        ),
        (
            "http://127.0.0.1:1/col/index.html",
            "http://127.0.0.1:1/a.html",
            "http://127.0.0.1:1/col/index.html",
        ),
        ("https://a.gov.cn/x", "http://a.gov.cn/y", None),
        (
            "http://127.0.0.1:1/p?sid=1789654321",
            "http://127.0.0.1:1/q",
            "http://127.0.0.1:1/",
        ),  # a known value
    ],
)
def test_referers_carry_no_credential(referer: str, url: str, sent: str | None) -> None:
    assert safe_referer(referer, url, ["1789654321"]) == sent


def test_failures_name_loops_and_size_caps() -> None:
    request = Request("http://127.0.0.1:9/")

    def outcome(exc: Exception) -> CheckOutcome:
        failure = Failure(exc)
        failure.request = request  # type: ignore[attr-defined]
        return outcome_for_failure(failure)[0]

    assert outcome(IgnoreRequest("max redirections reached")) == CheckOutcome.REDIRECT_LOOP
    assert outcome(IgnoreRequest("… exceeded DOWNLOAD_MAXSIZE (4194304 B) during decompression.")) == (
        CheckOutcome.OVERSIZED
    )


def test_page_counts_are_capped_before_urls_are_built() -> None:
    assert (
        len(trs_page_urls("createPageHTML(3000000, 0, 'index', 'html')", "http://127.0.0.1:9/col/", 5)) == 5
    )
    many = trs_page_urls("var countPage = 99999999999999", "http://127.0.0.1:9/col/index.html")
    assert len(many) == MAX_PAGE_URLS
    text = "<a href='/module/web/jpage/dataproxy.jsp?columnid=1'>x</a> totalRecord = 999999999; perPage = 0"
    assert len(hanweb_page_urls(text, "http://127.0.0.1:9/", 5)) == 5


def test_column_values_of_the_wrong_type_are_lost_and_counted() -> None:
    drain_bad_fields()
    assert as_column("name", {"a": 1}, str) is None
    assert as_column("likes_count", 10**30, int) is None
    assert as_column("likes_count", "12", int) == 12
    assert as_column("title", "a\ud800b", str) == "a\ufffdb"
    assert drain_bad_fields() == {"name": 1, "likes_count": 1, "text_encoding": 1}


def test_a_callback_that_raises_still_leaves_a_check() -> None:
    crawler = get_crawler(FeedSpider, {"MONITOR_DB": ":memory:"})
    crawler.spider = FeedSpider.from_crawler(crawler)
    guard = ParseGuardMiddleware.from_crawler(crawler)
    url = "http://127.0.0.1:9/feed.xml"
    resp = response(b"<rss/>", url, kind="feed", target={"id": 7})
    (check,) = guard.process_spider_exception(resp, ValueError("boom"))  # type: ignore[misc]
    assert (check.outcome, check.target_id, check.kind) == (CheckOutcome.MALFORMED, 7, "feed")
    assert "boom" in check.error
    resp.meta["checked"] = True
    assert list(guard.process_spider_exception(resp, ValueError("again")) or ()) == []
    assert crawler.stats.get_value("monitor/parse_error") == 2


def test_a_credential_never_enters_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_WECHAT_TOKEN", "1789654321")
    monkeypatch.setenv("MONITOR_WECHAT_COOKIE", "slave_sid=c2VjcmV0LXNpZA==")
    crawler = get_crawler(WechatSpider, {"MONITOR_DB": ":memory:"})
    spider = WechatSpider.from_crawler(crawler)
    target = {
        "id": 1,
        "name": "x",
        "render": "js",
        "options": {"fakeid": "x", "mp_base": "http://127.0.0.1:9"},
    }
    assert spider.mp_request(target, 0).meta["playwright"] is False  # the token's URL is fetched plainly
    page = spider.target_request(
        "http://127.0.0.1:9/wechat/album/x", target, spider.parse_list_page, kind="listing"
    )
    assert page.meta["playwright"] is True  # the account's own page still renders
