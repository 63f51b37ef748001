"""Feed parsing on saved pages: RSS from a WeChat bridge, Atom from RSSHub, and the pages that are states."""

from __future__ import annotations

import pytest

from core.enums import AccountStatus, CheckOutcome
from pipelines.normalize import normalize_post
from spiders.base import SourceError
from spiders.feed import entry_to_post, parse_feed
from tests.helpers import fixture_path


def load(name: str) -> bytes:
    return fixture_path("feed", name).read_bytes()


def test_rss_bridge_entries() -> None:
    feed = parse_feed(load("rss_wechat_bridge.xml"))
    assert feed.title == "临江发布"
    assert [e.post_id for e in feed.entries] == [
        "MzA4ODUzNjAxOA==_2650000001_1",
        "https://mp.weixin.qq.com/s/AbCdEf",  # no guid: the link identifies it
        "https://mp.weixin.qq.com/s/Poster1",
    ]
    first = feed.entries[0]
    assert first.url.endswith("mid=2650000001&idx=1&sn=abc")  # &amp; decoded
    assert "防汛工作会议" in first.html  # content:encoded preferred over the short description
    assert first.author == "临江发布"


def test_rss_entry_to_post_fields() -> None:
    feed = parse_feed(load("rss_wechat_bridge.xml"))
    original, repost, poster = (entry_to_post(e, target_id=7, platform="wechat") for e in feed.entries)
    assert original.is_original == 1
    assert original.is_repost == 0
    assert original.image_count == 2
    assert original.video_count == 0
    assert original.published_at == "2024-06-01T10:00:00+08:00"
    assert repost.is_original == 0
    assert repost.is_repost == 1
    assert repost.repost_source == "人民日报"
    assert repost.video_count == 1
    assert repost.published_at == "2024-05-31T10:30:00+08:00"  # GMT converted to China time
    assert poster.is_original is None
    normalized = normalize_post(poster)
    assert normalized.text == ""
    assert normalized.text_length == 0
    assert normalized.image_count == 1


def test_atom_entries() -> None:
    feed = parse_feed(load("atom_rsshub_douyin.xml"))
    assert feed.title == "河口融媒 的抖音"
    video, note = feed.entries
    assert video.url == "https://www.douyin.com/video/7370000000000000001"
    assert video.published_at == "2024-06-02T08:00:00Z"  # <published> wins over <updated>
    post = normalize_post(entry_to_post(video, target_id=1, platform="douyin"))
    assert post.published_at == "2024-06-02T16:00:00+08:00"
    assert post.video_count == 1
    assert post.text == "龙舟竞渡， 热闹非凡。"
    assert note.post_id == "tag:douyin,7370000000000000002"
    assert note.published_at == "2024-05-20T12:00:00+08:00"  # falls back to <updated>
    assert note.html == "医保报销比例提高。"


@pytest.mark.parametrize(
    ("name", "outcome", "status"),
    [
        ("malformed.xml", CheckOutcome.MALFORMED, None),
        ("account_deleted.html", CheckOutcome.GONE, AccountStatus.DELETED),
        ("login_wall.html", CheckOutcome.LOGIN_REQUIRED, None),
    ],
)
def test_pages_that_are_not_feeds(name: str, outcome: CheckOutcome, status: AccountStatus | None) -> None:
    with pytest.raises(SourceError) as err:
        parse_feed(load(name))
    assert err.value.outcome == outcome
    assert err.value.status == status


def test_html_page_without_known_state_is_malformed() -> None:
    with pytest.raises(SourceError) as err:
        parse_feed(b"<!DOCTYPE html><html><body><p>hello</p></body></html>")
    assert err.value.outcome == CheckOutcome.MALFORMED
