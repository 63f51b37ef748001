"""Weibo parsing on saved API answers: profile, timeline with a pinned post, long text, refusals, times."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime

import pytest

from core.clock import CHINA_TZ, iso
from core.enums import CheckOutcome
from spiders.weibo import (
    SourceError,
    is_pinned,
    mblog_to_post,
    parse_count,
    parse_long_text,
    parse_profile,
    parse_timeline,
    parse_weibo_time,
    profile_to_account,
    timeline_containerid,
)
from tests.helpers import SHARED_REAL, fixture_path

NOW = datetime(2026, 6, 30, 12, 0, 0, tzinfo=CHINA_TZ)


def load(name: str) -> object:
    return json.loads(fixture_path("weibo", name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sat Jun 01 10:00:00 +0800 2024", "2024-06-01T10:00:00+08:00"),
        ("Tue Jun 08 09:35:04 +0800 2021", "2021-06-08T09:35:04+08:00"),
        ("刚刚", "2026-06-30T12:00:00+08:00"),
        ("5分钟前", "2026-06-30T11:55:00+08:00"),
        ("3小时前", "2026-06-30T09:00:00+08:00"),
        ("今天 08:15", "2026-06-30T08:15:00+08:00"),
        ("昨天 10:00", "2026-06-29T10:00:00+08:00"),
        ("06-01", "2026-06-01T00:00:00+08:00"),
        ("12-31", "2025-12-31T00:00:00+08:00"),  # MM-DD in the future is last year's
        ("2023-06-01", "2023-06-01T00:00:00+08:00"),
    ],
)
def test_parse_weibo_time(text: str, expected: str) -> None:
    parsed = parse_weibo_time(text, NOW)
    assert parsed is not None
    assert iso(parsed) == expected


def test_parse_weibo_time_rejects_junk() -> None:
    assert parse_weibo_time("很久以前", NOW) is None
    assert parse_weibo_time("", NOW) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1363591, 1363591),
        ("145.5万", 1455000),
        ("1.2亿", 120000000),
        ("10万+", 100000),
        ("1,234", 1234),
        ("", None),
    ],
)
def test_parse_count(value: object, expected: int | None) -> None:
    assert parse_count(value) == expected


def test_profile() -> None:
    p = parse_profile(load("profile.json"))
    assert p.uid == "5800000001"
    assert p.screen_name == "临江发布"
    assert (p.followers, p.followers_text) == (128000, "12.8万")
    assert (p.verified, p.verified_type) == (1, 1)
    assert p.description.startswith("临江市人民政府办公室官方微博")
    assert p.statuses_count == 26
    assert p.timeline_containerid == "1076035800000001"


def test_timeline_with_pinned_old_post() -> None:
    t = parse_timeline(load("timeline_pinned.json"))
    assert len(t.mblogs) == 11  # the type-11 header card is skipped
    posts = [mblog_to_post(m, target_id=1, now=NOW, base="https://m.weibo.cn") for m in t.mblogs]
    pinned = posts[0]
    assert pinned.is_pinned == 1
    assert pinned.published_at == "2025-12-12T12:00:00+08:00"  # 200 days old
    newest = max((p for p in posts if not p.is_pinned), key=lambda p: p.published_at)
    assert newest.published_at == "2026-06-30T07:00:00+08:00"  # "5小时前" against the as_of
    assert sum(p.is_pinned for p in posts) == 1
    assert t.since_id is not None
    retweets = [p for p in posts if p.is_repost]
    assert retweets
    assert {p.repost_source for p in retweets} <= {"人民日报", "(已删除)", "示范省发布", "新华社", "央视新闻"}
    assert all("<" not in (p.text or "") for p in posts)


def test_last_page_has_no_since_id() -> None:
    t = parse_timeline(load("timeline_last_page.json"))
    assert t.since_id is None
    assert len(t.mblogs) == 5
    assert not any(is_pinned(m) for m in t.mblogs)


def test_long_text() -> None:
    text = parse_long_text(load("extend.json"))
    assert "<br" not in text
    assert text.count("\n") >= 2


@pytest.mark.parametrize(
    ("name", "reason"),
    [("ok0_no_content.json", "这里还没有内容"), ("login_required.json", "passport.weibo.cn")],
)
def test_refusals_are_blocked_not_closed(name: str, reason: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_timeline(load(name))
    assert err.value.outcome == CheckOutcome.BLOCKED
    assert reason in err.value.reason


def test_real_answers() -> None:
    """The real nonebot-bison answers (shared fixtures) when present; else our own in the same shape."""
    profile_path = SHARED_REAL / "weibo_getIndex_100505_profile.json"
    timeline_path = SHARED_REAL / "weibo_getIndex_107603_list_pinned.json"
    if profile_path.exists() and timeline_path.exists():
        p = parse_profile(json.loads(profile_path.read_text(encoding="utf-8")))
        assert (p.followers, p.followers_text) == (1455000, "145.5万")
        assert (p.verified_type, p.statuses_count) == (2, 1553)
        assert p.timeline_containerid == "1076036279793937"
        t = parse_timeline(json.loads(timeline_path.read_text(encoding="utf-8")))
        posts = [mblog_to_post(m, target_id=1, now=NOW, base="https://m.weibo.cn") for m in t.mblogs]
        assert posts[0].is_pinned == 1
        assert posts[0].published_at == "2021-06-08T09:35:04+08:00"
        assert posts[0].video_count == 1
        newest = max((x for x in posts if not x.is_pinned), key=lambda x: x.published_at)
        assert newest.published_at == "2021-06-17T11:00:31+08:00"  # newer than the pinned post
        assert posts[2].is_repost == 1
        assert posts[1].image_count == 1
        assert "#明日方舟#" in posts[1].text
        assert "<a" not in posts[1].text
        assert t.since_id == "4646131823281332"
    else:
        t = parse_timeline(load("timeline_pinned.json"))
        assert is_pinned(t.mblogs[0])


def test_profile_naming_the_newer_container() -> None:
    p = parse_profile(load("profile_230413.json"))
    assert p.timeline_containerid == "2304135800000009_-_WEIBO_SECOND_PROFILE_WEIBO"
    assert profile_to_account(p, target_id=3).timeline_containerid == p.timeline_containerid
    assert (p.followers, p.statuses_count) == (236000, 3120)


@pytest.mark.parametrize(
    ("tabs", "expected"),
    [
        ([{"tabKey": "weibo", "containerid": "1076039"}], "1076039"),
        (
            [{"tabKey": "weibo", "containerid": "1076039"}, {"tabKey": "x", "containerid": "2304139"}],
            "2304139",
        ),
        (
            [{"tab_type": "weibo", "containerid": "2304139_-_WEIBO_SECOND_PROFILE_WEIBO"}],
            "2304139_-_WEIBO_SECOND_PROFILE_WEIBO",
        ),
        ([{"tabKey": "weibo", "containerid": "23041399"}], "1076039"),  # another user's container
        ([{"tabKey": "weibo", "containerid": "107603 9; DROP"}], "1076039"),
        ([{"tabKey": "weibo"}, "junk", None], "1076039"),
        ("junk", "1076039"),
        (None, "1076039"),
    ],
)
def test_timeline_container_choice(tabs: object, expected: str) -> None:
    assert timeline_containerid(tabs, "9") == expected


def test_real_profile_names_its_weibo_tab() -> None:
    path = SHARED_REAL / "weibo_getIndex_100505_profile.json"
    if not path.exists():
        pytest.skip(f"real answer not present: {path}")
    p = parse_profile(json.loads(path.read_text(encoding="utf-8")))
    # The real profile (2021) names 107603 for its 微博 tab and no 230413 container: that is the choice.
    assert p.timeline_containerid == "1076036279793937"
    assert profile_to_account(p, target_id=1).timeline_containerid == "1076036279793937"


def test_newer_timeline_groups_its_pinned_card() -> None:
    t = parse_timeline(load("timeline_230413.json"))
    posts = [mblog_to_post(m, target_id=1, now=NOW, base="https://m.weibo.cn") for m in t.mblogs]
    assert [(p.is_pinned, p.kind) for p in posts] == [
        (1, "weibo"),
        (0, "weibo"),
        (0, "retweet"),
        (0, "weibo"),
    ]
    assert posts[1].video_count == 1
    assert posts[3].image_count == 2
    assert t.since_id == "4990000000090001"


@pytest.mark.parametrize(
    "data",
    [
        {"ok": 1, "data": {"userInfo": {"id": "abc"}}},
        {"ok": 1, "data": []},
        {"ok": 1, "data": {"userInfo": [], "tabsInfo": "x"}},
        {"ok": 1, "data": {"cards": [None, "x", {"card_type": 11, "card_group": "x"}]}},
        {"ok": "1"},
        [],
        None,
        "ok",
    ],
)
def test_bad_answers_raise_only_source_errors(data: object) -> None:
    for parse in (parse_profile, parse_timeline, parse_long_text):
        with contextlib.suppress(SourceError):  # anything else fails the test
            parse(data)


def test_a_bad_mblog_field_loses_the_field() -> None:
    mblog = {
        "id": 4990000000000001,
        "created_at": "Tue Jun 30 08:30:00 +0800 2026",
        "text": {"not": "text"},
        "user": "x",
        "retweeted_status": {"user": "x"},
        "page_info": ["x"],
        "pics": "x",
        "pic_num": "many",
        "reposts_count": float("inf"),
        "title": "置顶",
    }
    post = mblog_to_post(mblog, target_id=1, now=NOW, base="https://m.weibo.cn")
    assert (post.post_id, post.published_at, post.text) == (
        "4990000000000001",
        "2026-06-30T08:30:00+08:00",
        "",
    )
    assert (post.repost_source, post.image_count, post.video_count, post.reposts_count) == (
        "(未知)",
        0,
        0,
        None,
    )
    assert mblog_to_post({}, target_id=1, now=NOW, base="b").post_id == ""  # dropped by normalize
