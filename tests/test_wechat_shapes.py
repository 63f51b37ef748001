"""WeChat page shapes on saved pages: Sogou's highlighted results, the article search, the msgList history
page in its three forms, post kinds, the 原始ID and 微信号 an account is stored with, and bad input."""

from __future__ import annotations

import json

import pytest

from core.enums import CheckOutcome, PostKind
from spiders.pagestate import PageState
from spiders.wechat import (
    Article,
    article_to_account,
    article_to_post,
    parse_article_page,
    parse_history_page,
    parse_sogou_accounts,
    parse_sogou_articles,
    sogou,
)
from spiders.wechat.history import HistoryPage, entry_to_post, next_history_url, parse_msg_list
from spiders.wechat.kinds import article_kind, message_kind, show_type_kind
from spiders.wechat.scripts import count_entries, js_string, script_prop
from spiders.wechat.sogou import SogouAccount, articles_of, find_account, match_key
from tests.helpers import SHARED_REAL, fixture_path

SOGOU_1 = "https://weixin.sogou.com/weixin?type=1&query=%E4%B8%B4%E6%B1%9F%E5%8F%91%E5%B8%83&ie=utf8"
SOGOU_2 = "https://weixin.sogou.com/weixin?type=2&query=%E4%B8%B4%E6%B1%9F&ie=utf8"
HOME = "https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz=MzA4NjAwMDAyMQ==&scene=124"
REAL_ARTICLE = SHARED_REAL / "wechat_article_gongchandangyuan_2018.html"
REAL_BLOCK = SHARED_REAL / "sogou_weixin_antispider_block.html"


def page(name: str) -> str:
    return fixture_path("wechat", name).read_text(encoding="utf-8")


def history(name: str, url: str = HOME) -> HistoryPage:
    result = parse_history_page(page(name), url)
    assert isinstance(result, HistoryPage), result
    return result


# --- Sogou account search -----------------------------------------------------------------------


def test_highlighted_names_read_as_the_plain_name() -> None:
    accounts = parse_sogou_accounts(page("sogou_accounts_em.html"), SOGOU_1)
    assert isinstance(accounts, list)
    assert [(a.name, a.wechat_id) for a in accounts] == [
        ("临江发布", "linjiangfabu"),
        ("临江经开区发布", "ljjkqfb"),
    ]
    first, second = accounts
    assert first.description == "临江市人民政府新闻办公室官方账号,及时发布临江权威政务信息."
    assert first.verified_by == "临江市人民政府新闻办公室"  # its <dt> is written by authname('2')
    assert first.latest_title == "临江市召开防汛工作部署会"
    assert first.latest_at == "2026-06-28T09:30:00+08:00"
    assert second.latest_at is None  # listed without a 最近文章


def test_matching_prefers_the_handle_and_ignores_markup_and_spacing() -> None:
    accounts = parse_sogou_accounts(page("sogou_accounts_em.html"), SOGOU_1)
    assert isinstance(accounts, list)
    assert find_account(accounts, handle="", name="临江发布") is accounts[0]
    assert find_account(accounts, handle="", name=" 临江 发布 ") is accounts[0]
    assert find_account(accounts, handle="LJJKQFB", name="临江发布") is accounts[1]  # the 微信号 wins
    assert find_account(accounts, handle=["", "ljjkqfb"], name="别的名字") is accounts[1]
    assert find_account(accounts, handle="nobody", name="临江") is None  # a part of a name is not a match
    assert match_key("山东 <em><!--red_beg-->高考<!--red_end--></em>\u3000指南") == match_key("山东高考指南")
    assert match_key("ＡＢＣ发布") == match_key("abc发布")  # full-width folded
    assert match_key("") == ""
    assert match_key(None) == ""


def test_sogou_refusals_are_blocked_for_both_searches() -> None:
    pages = [page("sogou_antispider.html")]
    if REAL_BLOCK.exists():
        pages.append(REAL_BLOCK.read_text(encoding="utf-8"))
    for html in pages:
        for parse, url in ((parse_sogou_accounts, SOGOU_1), (parse_sogou_articles, SOGOU_2)):
            result = parse(html, url)
            assert isinstance(result, PageState), parse
            assert result.outcome == CheckOutcome.BLOCKED
    redirected = parse_sogou_articles("<html></html>", "https://weixin.sogou.com/antispider/?from=%2Fweixin")
    assert isinstance(redirected, PageState)
    assert redirected.outcome == CheckOutcome.BLOCKED


# --- Sogou article search (type=2) --------------------------------------------------------------


def test_article_search_results() -> None:
    articles = parse_sogou_articles(page("sogou_articles.html"), SOGOU_2)
    assert isinstance(articles, list)
    assert [(a.account, a.published_at) for a in articles] == [
        ("临江经开区发布", "2026-06-29T18:05:00+08:00"),  # span.all-time-y2 (2020-)
        ("临江经开区发布", "2026-06-26T16:20:00+08:00"),  # a.account, highlighted (to 2019)
        ("临江人才", "2026-06-27T11:11:00+08:00"),
    ]
    first = articles[0]
    assert first.title == "临江经开区举办2026年重点项目集中开工仪式"
    assert first.url is not None
    assert first.url.startswith("https://weixin.sogou.com/link?url=")  # relative in the page
    assert (first.summary or "").startswith("6月29日上午,临江经开区")
    mine = articles_of(articles, name="临江经开区发布")
    assert len(mine) == 2
    posts = [sogou.article_to_post(a, target_id=4) for a in mine]
    assert all(p is not None and p.kind == PostKind.ARTICLE for p in posts)
    assert len({p.post_id for p in posts if p}) == 2


def test_article_search_time_from_the_attribute_when_the_script_is_gone() -> None:
    html = (
        "<ul class='news-list'><li><div class='txt-box'><h3><a href='/link?url=x'>标题</a></h3>"
        "<div class='s-p' t='1782727500'><span class='all-time-y2'>临江发布</span></div></div></li></ul>"
    )
    (article,) = parse_sogou_articles(html, SOGOU_2)  # type: ignore[misc]
    assert article.published_at == "2026-06-29T18:05:00+08:00"


def test_article_search_without_results_or_list() -> None:
    assert parse_sogou_articles("<div id='noresult_part1_container'>暂无与</div>", SOGOU_2) == []
    malformed = parse_sogou_articles("<html><body>维护中</body></html>", SOGOU_2)
    assert isinstance(malformed, PageState)
    assert malformed.outcome == CheckOutcome.MALFORMED


# --- the history page ---------------------------------------------------------------------------


def test_history_page_entity_string_form() -> None:
    h = history("history_msglist_entities.html")
    assert (h.biz, h.nickname, h.gh_id, h.wechat_id) == (
        "MzA4NjAwMDAyMQ==",
        "临江应急",
        "gh_3f9e2a1b7c4d",
        None,
    )
    assert (h.can_continue, h.next_offset) == (True, 10)
    posts = [entry_to_post(e, biz=h.biz, target_id=1) for e in h.entries]
    assert [(p.post_id, p.kind) for p in posts] == [
        ("MzA4NjAwMDAyMQ==_2652000101_1", PostKind.ARTICLE),
        ("MzA4NjAwMDAyMQ==_2652000101_2", PostKind.ARTICLE),  # the broadcast's second article
        ("MzA4NjAwMDAyMQ==_2652000101_3", PostKind.ARTICLE),
        ("MzA4NjAwMDAyMQ==_msg1000000411_1", PostKind.AUDIO),  # a voice message (type 34)
        ("MzA4NjAwMDAyMQ==_msg1000000410_1", PostKind.TEXT),
        ("MzA4NjAwMDAyMQ==_msg1000000409_1", PostKind.IMAGE),
        ("MzA4NjAwMDAyMQ==_2652000099_1", PostKind.VIDEO),  # item_show_type 5
    ]
    headline, second = posts[0], posts[1]
    assert headline.published_at == second.published_at == "2026-06-29T18:05:00+08:00"
    assert headline.url == (
        "http://mp.weixin.qq.com/s?__biz=MzA4NjAwMDAyMQ==&mid=2652000101&idx=1&sn=a1f0c3"
        "&chksm=8f3a26520001011&scene=27#wechat_redirect"
    )  # written \\/ and &amp;amp; in the page
    assert (headline.is_original, second.is_original, second.is_repost) == (1, 0, 1)
    assert second.title == '"防汛"十问十答'  # &amp;quot; in the page
    assert (second.repost_source or "").startswith("http://www.mem.gov.cn/")
    assert posts[4].text == "今天下午3点举行城区防汛应急演练，请市民知悉。"


def test_history_page_js_object_form() -> None:
    url = "https://mp.weixin.qq.com/profile?src=3&timestamp=1782792000&ver=1&signature=demo"
    h = history("history_msglist_js.html", url)
    assert (h.biz, h.nickname, h.gh_id, h.wechat_id) == (
        "MzA4NjAwMDAyMg==",
        "示范发布",
        None,
        "shifanfabugov",
    )
    assert not h.can_continue
    posts = [entry_to_post(e, biz=h.biz, target_id=1) for e in h.entries]
    # Sogou-era links are temporary (no __biz/mid): the broadcast's message id names the post.
    assert [p.post_id for p in posts] == [
        "MzA4NjAwMDAyMg==_msg1000000731_1",
        "MzA4NjAwMDAyMg==_msg1000000731_2",
        "MzA4NjAwMDAyMg==_msg1000000728_1",
    ]
    assert (posts[0].url or "").startswith("https://mp.weixin.qq.com/s?timestamp=1782792000&src=3")
    assert posts[0].published_at == "2026-06-29T07:45:00+08:00"


def test_history_getmsg_answer_and_its_next_page() -> None:
    getmsg = "https://mp.weixin.qq.com/mp/profile_ext?action=getmsg&__biz=MzA4NjAwMDAyMQ==&offset=10&f=json"
    h = history("history_getmsg.json", getmsg)
    assert h.biz == "MzA4NjAwMDAyMQ=="  # from the URL: the answer names no account
    assert (h.can_continue, h.next_offset) == (False, 12)
    posts = [entry_to_post(e, biz=h.biz, target_id=1) for e in h.entries]
    assert [(p.post_id, p.kind) for p in posts] == [
        ("MzA4NjAwMDAyMQ==_2652000098_1", PostKind.ARTICLE),
        ("MzA4NjAwMDAyMQ==_msg1000000406_1", PostKind.VIDEO),  # a video message (type 62)
    ]
    nxt = next_history_url(HOME + "&uin=MTIz&key=secret#wechat_redirect", 10)
    assert nxt is not None
    assert "action=getmsg" in nxt
    assert "offset=10" in nxt
    assert "key=secret" in nxt  # the client session goes on with the next page (redacted when stored)
    assert "#" not in nxt
    assert next_history_url("https://mirror.example.org/wechat/MzA4/history.html", 10) is None


def test_history_states() -> None:
    expired = parse_history_page(page("history_no_session.json"), HOME)
    assert isinstance(expired, PageState)
    assert expired.outcome == CheckOutcome.NO_CREDENTIALS  # our URL's key, not the account
    wall = parse_history_page("<html><body><p>请在微信客户端打开链接。</p></body></html>", HOME)
    assert isinstance(wall, PageState)
    assert wall.outcome == CheckOutcome.BLOCKED
    cancelled = parse_history_page("<html><body>此帐号已自主注销，内容无法查看</body></html>", HOME)
    assert isinstance(cancelled, PageState)
    assert cancelled.outcome == CheckOutcome.GONE
    nothing = parse_history_page("<html><body>你好</body></html>", HOME)
    assert isinstance(nothing, PageState)
    assert nothing.outcome == CheckOutcome.MALFORMED


# --- post kinds ---------------------------------------------------------------------------------


def test_post_kinds_keep_the_stored_strings() -> None:
    assert {PostKind.ARTICLE, PostKind.WEIBO, PostKind.RETWEET} == {"article", "weibo", "retweet"}
    assert show_type_kind(None) == show_type_kind(0) == show_type_kind(99) == PostKind.ARTICLE
    assert [show_type_kind(t) for t in (5, 7, 8, 10)] == ["video", "audio", "image", "text"]
    assert message_kind(34) == PostKind.AUDIO
    assert message_kind(49, 7) == PostKind.AUDIO  # the article's own show type first
    assert message_kind(None) == message_kind(10000) == PostKind.ARTICLE


@pytest.mark.parametrize(
    ("show_type", "voices", "videos", "text_length", "kind"),
    [
        (0, 1, 0, 500, PostKind.AUDIO),  # <mpvoice> in an article page
        (None, 0, 1, 200, PostKind.VIDEO),  # a video under a caption
        (None, 0, 1, 201, PostKind.ARTICLE),  # a video inside an article
        (5, 0, 0, 900, PostKind.VIDEO),
        (8, 0, 0, 0, PostKind.IMAGE),
        (0, 0, 0, 0, PostKind.ARTICLE),
    ],
)
def test_article_kind(
    show_type: int | None, voices: int, videos: int, text_length: int, kind: PostKind
) -> None:
    assert article_kind(show_type, voices=voices, videos=videos, text_length=text_length) == kind


def test_voice_article_is_audio_and_names_its_account() -> None:
    a = parse_article_page(page("article_voice.html"), "https://mp.weixin.qq.com/s?__biz=MzA4NjAwMDAyMQ==")
    assert isinstance(a, Article)
    assert (a.kind, a.voice_count, a.published_at) == (PostKind.AUDIO, 1, "2026-06-30T07:45:00+08:00")
    assert article_to_post(a, target_id=2).kind == "audio"
    account = article_to_account(a, target_id=2, name="临江应急局")
    assert (account.name, account.gh_id, account.wechat_id) == (
        "临江应急",
        "gh_3f9e2a1b7c4d",
        "linjiangyingji",
    )


def test_picture_message_page_is_an_image_post() -> None:
    url = "https://mp.weixin.qq.com/s/Xq2l0IQ091w0DY2ERU7fD"
    a = parse_article_page(page("article_picture.html"), url)
    assert isinstance(a, Article), a  # no #js_content: the post lives in the page's script data
    assert (a.kind, a.item_show_type, a.image_count) == (PostKind.IMAGE, 8, 3)  # nested cdn_urls not counted
    assert a.title == "汛期安全提示：这6件事要记牢"
    assert a.nickname == "临江应急"
    assert a.published_at == "2026-06-30T10:15:00+08:00"
    assert a.text.startswith("汛期安全提示\n1.远离河道")
    assert a.post_id == "MzA4NjAwMDAyMQ==_2652000103_1"


def test_real_article_names_gh_id_and_wechat_id() -> None:
    if not REAL_ARTICLE.exists():
        pytest.skip(f"real page not present: {REAL_ARTICLE}")
    a = parse_article_page(
        REAL_ARTICLE.read_text(encoding="utf-8"), "https://mp.weixin.qq.com/s?__biz=MzA4ODUzNjAxOA=="
    )
    assert isinstance(a, Article)
    account = article_to_account(a, target_id=7)
    assert (account.name, account.gh_id, account.wechat_id) == ("共产党员", "gh_9381891f8dd8", "gcdyweixin")
    # 【视频】石榴花开: a v.qq.com player under 93 characters, from before item_show_type
    assert article_to_post(a, target_id=7).kind == PostKind.VIDEO


def test_script_helpers() -> None:
    html = "title: JsDecode('a\\x26amp;b\\x0ac'), nick_name: '临江', empty: ''"
    assert script_prop(html, "title") == "a&b\nc"
    assert script_prop(html, "nick_name") == "临江"
    assert script_prop(html, "empty") is None
    assert script_prop(html, "missing") is None
    assert js_string("\\u4e2d\\'\\\\n") == "中'\\n"
    assert count_entries("list = [{a: 1, b: {a: 2}}, {'a': 3}, {c: 4}];", "list", "a") == 2
    assert count_entries("list = [", "list", "a") == 0
    assert count_entries("nothing", "list", "a") == 0


# --- bad input loses a field, never the page ----------------------------------------------------


JUNK = ["", "{", "[]", "null", "\x00\x0c<", "<html>", "msgList = ", "var msgList = '{&quot;", "😀" * 50]


@pytest.mark.parametrize("text", JUNK)
def test_parsers_never_raise(text: str) -> None:
    for parse in (parse_article_page, parse_history_page, parse_sogou_accounts, parse_sogou_articles):
        result = parse(text, "https://[bad")
        assert result is not None


def test_a_bad_field_loses_the_field_not_the_entry() -> None:
    data = {
        "list": [
            {"comm_msg_info": {"id": 1, "type": "49", "datetime": "soon"}, "app_msg_ext_info": {"title": 5}},
            {"comm_msg_info": "broken", "app_msg_ext_info": {"title": "标题", "content_url": ["x"]}},
            "not a message",
            {"comm_msg_info": {"id": 3, "type": 1, "datetime": 1782462000, "content": {"x": 1}}},
            {"app_msg_ext_info": {"title": "多图文", "multi_app_msg_item_list": [None, {"title": "第二条"}]}},
        ]
    }
    entries = parse_msg_list(data)
    assert [(e.msg_id, e.idx, e.title, e.published_at) for e in entries] == [
        ("1", 1, "5", None),  # a number where a title should be: kept as its digits
        (None, 1, "标题", None),
        ("3", 1, None, "2026-06-26T16:20:00+08:00"),
        (None, 1, "多图文", None),
        (None, 2, "第二条", None),
    ]
    assert parse_msg_list(None) == parse_msg_list({"list": "x"}) == []
    answer = json.dumps({"ret": 0, "general_msg_list": "{not json"})
    assert isinstance(parse_history_page(answer, HOME), PageState)
    account = SogouAccount("临江发布", None, None, None, None, None)
    assert find_account([account], handle="", name="") is None  # an empty name matches nothing


def test_datasette_metadata_describes_the_identities() -> None:
    from db.serve import build_metadata

    columns = build_metadata()["databases"]["monitor"]["tables"]["accounts"]["columns"]
    assert columns["gh_id"].startswith("原始ID")
    assert columns["wechat_id"].startswith("微信号")
    assert columns["timeline_containerid"].startswith("微博时间线容器")
