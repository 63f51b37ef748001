"""A BatchItem is its items: each is normalized, dropped and counted as it would be alone."""

from __future__ import annotations

import copy

import pytest
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from core.items import AccountItem, BatchItem, CheckItem, PostItem, ValidatorItem
from crawler.distributed.items import decode_item, encode_item
from pipelines.normalize import NormalizePipeline, normalize_item
from spiders import feed
from tests.helpers import fixture_path


def _items() -> list[object]:
    return [
        CheckItem(kind="feed", url="http://127.0.0.1:9/f.xml", outcome="ok", target_id=7, error="e" * 2000),
        AccountItem(target_id=7, name=" 临江\u3000发布 ", followers="12"),  # type: ignore[arg-type]
        PostItem(target_id=7, platform="feed", post_id="", title="no id"),
        PostItem(target_id=7, platform="feed", post_id="p1", text="<b>一</b> \n\n二", likes_count=2**70),
        PostItem(
            target_id=7,
            platform="feed",
            post_id="p2",
            title=" 标题 ",
            published_at="Tue, 30 Jun 2026 05:38:42 +0800",
        ),
        ValidatorItem(url="http://127.0.0.1:9/f.xml", target_id=7, etag='"x"'),
    ]


def test_each_item_of_a_batch_is_normalized_as_it_would_be_alone() -> None:
    crawler = get_crawler()
    pipeline = NormalizePipeline.from_crawler(crawler)
    batch = pipeline.process_item(BatchItem(target_id=7, items=_items()))
    alone = [normalize_item(one) for one in _items() if not (isinstance(one, PostItem) and not one.post_id)]
    assert batch.items == alone
    check, account, first, second, _ = batch.items
    assert len(check.error) == 1000
    assert (account.name, account.followers) == ("临江 发布", 12)
    assert (first.text, first.likes_count) == ("<b>一</b>\n二", None)  # folded, never read as HTML
    assert (second.title, second.published_at) == ("标题", "2026-06-30T05:38:42+08:00")
    stats = crawler.stats.get_stats()  # type: ignore[union-attr]
    assert stats["monitor/dropped/post_without_id"] == 1  # the post without an id, and only it
    assert stats["monitor/bad_field/likes_count"] == 1


def test_an_item_that_breaks_normalizing_is_lost_alone() -> None:
    crawler = get_crawler()
    pipeline = NormalizePipeline.from_crawler(crawler)
    broken = AccountItem(target_id=7)
    broken.__dict__.pop("name")  # not an item any spider can make: normalizing it raises
    batch = pipeline.process_item(BatchItem(target_id=7, items=[broken, *_items()[:2]]))
    assert [type(one) for one in batch.items] == [CheckItem, AccountItem]
    assert crawler.stats.get_value("monitor/dropped/normalize_error") == 1  # type: ignore[union-attr]


def test_a_batch_travels_between_machines_as_its_items() -> None:
    """Each check leaves with a relay key of its own (a chunk drained twice stores it once); the rest
    arrives as it left, and the same raw item decodes to the same key."""
    batch = BatchItem(target_id=7, items=copy.deepcopy(_items()))
    raw = encode_item(batch)
    relayed = decode_item(raw)
    keys = [one.relay_key for one in relayed.items if isinstance(one, CheckItem)]
    assert [len(key or "") for key in keys] == [32]
    assert keys != [
        one.relay_key for one in decode_item(encode_item(batch)).items if isinstance(one, CheckItem)
    ]
    assert [one.relay_key for one in decode_item(raw).items if isinstance(one, CheckItem)] == keys
    for one in relayed.items:
        if isinstance(one, CheckItem):
            one.relay_key = None
    assert relayed == batch


def _feed_page() -> tuple[feed.FeedSpider, TextResponse]:
    crawler = get_crawler(feed.FeedSpider, {"MONITOR_DB": ":memory:"})
    spider = feed.FeedSpider.from_crawler(crawler)
    crawler.spider = spider
    url = "http://127.0.0.1:9/feed.xml"
    target = {"id": 7, "platform": "wechat", "feed_url": url}
    body = fixture_path("feed", "rss_wechat_bridge.xml").read_bytes()
    meta = {"target": target, "kind": "feed", "validator_key": url}
    page = TextResponse(url, body=body, headers={"ETag": '"v1"'}, request=Request(url, meta=meta))
    return spider, page


def test_a_feed_page_is_one_item_check_first_validator_last() -> None:
    spider, page = _feed_page()
    (batch,) = spider.parse(page)
    kinds = [type(one) for one in batch.items]
    assert kinds == [CheckItem, AccountItem, PostItem, PostItem, PostItem, ValidatorItem]


def test_an_entry_the_parser_breaks_on_loses_the_entries_not_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> PostItem:
        raise ValueError("boom")

    monkeypatch.setattr(feed, "entry_to_post", broken)
    spider, page = _feed_page()
    out = spider.parse(page)
    (batch,) = [next(out)]
    assert [type(one) for one in batch.items] == [CheckItem, AccountItem]
    with pytest.raises(ValueError, match="boom"):  # for ParseGuardMiddleware: logged, counted
        next(out)
    assert page.meta["checked"]  # so the guard adds no second check
