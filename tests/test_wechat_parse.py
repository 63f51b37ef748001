"""WeChat parsing on saved pages: articles, the pages that are states, the MP list, Sogou results."""

from __future__ import annotations

import json

import pytest

from core.enums import AccountStatus, CheckOutcome
from spiders.pagestate import PageState
from spiders.wechat import (
    Article,
    SourceError,
    article_to_post,
    listed_to_post,
    parse_article_page,
    parse_publish_page,
    parse_sogou_accounts,
    redact,
    script_var,
    url_post_id,
    wechat_mode,
)
from tests.helpers import SHARED_REAL, fixture_path

URL = "https://mp.weixin.qq.com/s?__biz=MzA4NjAwMDAwMA==&mid=2650000008&idx=1&sn=x"


def page(name: str) -> str:
    return fixture_path("wechat", name).read_text(encoding="utf-8")


def article(name: str, url: str = URL) -> Article:
    result = parse_article_page(page(name), url)
    assert isinstance(result, Article), result
    return result


def test_original_article_fields() -> None:
    a = article("article_original.html")
    assert a.title == "关于做好消防安全工作的通知"
    assert a.nickname == "临江发布"
    assert (a.biz, a.mid, a.idx) == ("MzA4NjAwMDAwMA==", "2650000008", "1")
    assert a.post_id == "MzA4NjAwMDAwMA==_2650000008_1"
    assert a.user_name.startswith("gh_")
    assert a.published_at == "2026-06-30T05:25:03+08:00"
    assert a.time_source == "ct"
    assert a.copyright_stat == 11
    assert a.is_original == 1
    assert a.author == "临江市人民政府办公室"
    assert a.text_length > 40
    assert a.image_count == 0
    assert a.item_show_type == 0
    assert a.repost_source is None
    assert a.ip_wording == "示范"
    # msg_link writes & as \x26amp; inside the script
    assert a.permalink.endswith("__biz=MzA4NjAwMDAwMA==&mid=2650000008&idx=1&sn=9df3ca881demo")
    post = article_to_post(a, target_id=3)
    assert (post.is_original, post.is_repost, post.kind) == (1, 0, "article")


def test_repost_article_names_its_source() -> None:
    a = article("article_repost.html")
    assert a.copyright_stat == 101
    assert a.is_original == 0
    assert a.repost_source == "示范省发布"
    assert a.source_url.startswith("http://www.news.cn/")
    post = article_to_post(a, target_id=3)
    assert (post.is_repost, post.repost_source) == (1, "示范省发布")


def test_poster_only_article() -> None:
    a = article("article_poster.html")
    assert a.title.startswith("海报｜")
    assert a.text_length == 0
    assert a.image_count == 1  # lazy image: the URL sits in data-src


@pytest.mark.parametrize(
    ("name", "outcome", "status"),
    [
        ("state_deleted_article.html", CheckOutcome.GONE, None),
        ("state_banned.html", CheckOutcome.GONE, AccountStatus.BANNED),
        ("state_cancelled.html", CheckOutcome.GONE, AccountStatus.DELETED),
        ("state_migrated.html", CheckOutcome.GONE, AccountStatus.MIGRATED),
        ("state_expired.html", CheckOutcome.HTTP_ERROR, None),
        ("state_verification.html", CheckOutcome.BLOCKED, None),
    ],
)
def test_state_pages_are_never_articles(
    name: str, outcome: CheckOutcome, status: AccountStatus | None
) -> None:
    result = parse_article_page(page(name), URL)
    assert isinstance(result, PageState)
    assert (result.outcome, result.account_status) == (outcome, status)


def test_migrated_page_gives_the_new_account() -> None:
    result = parse_article_page(page("state_migrated.html"), URL)
    assert isinstance(result, PageState)
    assert result.link == "https://mp.weixin.qq.com/s?__biz=TkVXQklaMjAyNg==&mid=2650000001&idx=1"


def test_captcha_url_is_blocked_whatever_the_body() -> None:
    result = parse_article_page(
        "<html><body>请稍候</body></html>", "https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?x=1"
    )
    assert isinstance(result, PageState)
    assert result.outcome == CheckOutcome.BLOCKED


def test_real_article_page() -> None:
    """The real 2018 page (shared fixtures) when present; else our own page in the same shape."""
    real = SHARED_REAL / "wechat_article_gongchandangyuan_2018.html"
    if real.exists():
        a = parse_article_page(
            real.read_text(encoding="utf-8"), "https://mp.weixin.qq.com/s?__biz=MzA4ODUzNjAxOA=="
        )
        assert isinstance(a, Article)
        assert a.title == "【视频】石榴花开"
        assert a.nickname == "共产党员"
        assert (a.biz, a.mid, a.idx) == ("MzA4ODUzNjAxOA==", "2671068104", "7")
        assert a.user_name == "gh_9381891f8dd8"
        assert a.alias == "gcdyweixin"
        assert a.published_at == "2018-03-20T11:19:59+08:00"  # var ct, not publish_time's bare date
        assert a.is_original == 0
        assert a.image_count == 6
        assert a.video_count == 1  # v.qq.com iframe
        assert a.permalink is None  # msg_link is empty when reached through a search link
    else:
        a = article("article_original.html")
        assert a.time_source == "ct"
        assert a.published_at == "2026-06-30T05:25:03+08:00"


def test_script_var_forms() -> None:
    html = (
        'var biz = "" || "QUJD"; var copyright_stat = "11" * 1; var nickname = htmlDecode("临江&amp;发布");'
    )
    assert script_var(html, "biz") == "QUJD"
    assert script_var(html, "copyright_stat") == "11"
    assert script_var(html, "nickname") == "临江&发布"
    assert script_var(html, "missing") is None


def test_mp_publish_page_nested_json() -> None:
    data = json.loads(page("mp_publish_page.json"))
    assert isinstance(data["publish_page"], str)  # JSON inside a JSON string…
    parsed = parse_publish_page(data)
    assert parsed.total == 8
    assert len(parsed.articles) == 5
    first = parsed.articles[0]
    assert first.title == "关于做好消防安全工作的通知"
    assert first.create_time == "2026-06-30T05:25:03+08:00"
    assert first.copyright_stat == 11
    post = listed_to_post(first, fakeid="MzA4NjAwMDAwMA==", target_id=1)
    assert post.post_id == "MzA4NjAwMDAwMA==_2650000008_1"
    assert post.is_original == 1


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("mp_freq_control.json", CheckOutcome.BLOCKED),
        ("mp_session_expired.json", CheckOutcome.NO_CREDENTIALS),
    ],
)
def test_mp_errors(name: str, outcome: CheckOutcome) -> None:
    with pytest.raises(SourceError) as err:
        parse_publish_page(json.loads(page(name)))
    assert err.value.outcome == outcome


def test_sogou_results() -> None:
    accounts = parse_sogou_accounts(
        page("sogou_results.html"), "https://weixin.sogou.com/weixin?type=1&query=x"
    )
    assert isinstance(accounts, list)
    assert [(a.name, a.wechat_id) for a in accounts] == [
        ("示范发布", "shifanfabugov"),
        ("临江教育", "linjiangjiaoyugov"),
    ]
    assert accounts[0].verified_by == "示范省人民政府办公室"
    assert accounts[1].latest_at == "2026-06-10T12:00:00+08:00"  # timeConvert('…'): 20 days before as_of
    assert accounts[1].latest_title


def test_sogou_antispider_is_blocked() -> None:
    real = SHARED_REAL / "sogou_weixin_antispider_block.html"
    pages = [page("sogou_antispider.html")] + ([real.read_text(encoding="utf-8")] if real.exists() else [])
    for html in pages:
        result = parse_sogou_accounts(html, "https://weixin.sogou.com/weixin?type=1&query=x")
        assert isinstance(result, PageState)
        assert result.outcome == CheckOutcome.BLOCKED


def test_album_needs_its_script() -> None:
    raw = page("album_raw.html")
    assert "js_album_list" in raw
    assert "<a href" not in raw.split("<script>")[0]  # the list is empty until the script runs


def test_modes_and_redaction() -> None:
    assert wechat_mode({"options": {"fakeid": "x"}}) == "mp"
    assert wechat_mode({"feed_url": "https://rss.example.org/x.xml", "options": {}}) == "feed"
    assert wechat_mode({"options": {"article_urls": ["u"]}}) == "urls"
    assert wechat_mode({"render": "js", "url": "https://x/album", "options": {}}) == "page"
    assert wechat_mode({"options": {}}) == "sogou"
    assert "token" not in redact(
        "https://mp.weixin.qq.com/cgi-bin/appmsgpublish?sub=list&token=123456&f=json"
    )
    assert url_post_id("https://mp.weixin.qq.com/s?__biz=QUJD&amp;mid=12&amp;idx=2&amp;sn=x") == "QUJD_12_2"
