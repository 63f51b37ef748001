"""Normalise items: timestamps to +08:00 ISO, HTML to plain text, whitespace; drop what cannot be fixed."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from core.dates import normalize_timestamp
from core.items import AccountItem, CheckItem, PostItem
from core.text import clean_text, html_to_text


def normalize_post(item: PostItem) -> PostItem:
    if not item.post_id:
        raise DropItem("post_without_id")
    item.title = clean_text(item.title) or None
    item.text = html_to_text(item.text)
    item.text_length = len(item.text.replace("\n", "").replace(" ", ""))
    if item.published_at:
        normalized = normalize_timestamp(item.published_at)
        if normalized is None:
            raise DropItem("unparseable_published_at")
        item.published_at = normalized
    return item


class NormalizePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        try:
            if isinstance(item, PostItem):
                return normalize_post(item)
            if isinstance(item, AccountItem):
                item.name = clean_text(item.name) or None
                item.description = clean_text(item.description) or None
            elif isinstance(item, CheckItem) and item.error:
                item.error = item.error[:1000]
        except DropItem as exc:
            self.stats.inc_value(f"monitor/dropped/{exc}")
            raise
        return item
