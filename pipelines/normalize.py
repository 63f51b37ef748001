"""Normalise items: timestamps to +08:00 ISO, HTML to plain text, whitespace; drop what cannot be fixed."""

from __future__ import annotations

import logging
import re
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from core.dates import normalize_timestamp
from core.items import AccountItem, CheckItem, PostBatchItem, PostItem
from core.text import clean_text, html_to_text

# What normalize_timestamp returns: a value already in this form is left as it is.
logger = logging.getLogger(__name__)
NORMALIZED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00")


def normalize_post(item: PostItem) -> PostItem:
    if not item.post_id:
        raise DropItem("post_without_id")
    item.title = clean_text(item.title) or None
    item.text = html_to_text(item.text)
    item.text_length = len(item.text.replace("\n", "").replace(" ", ""))
    if item.published_at and not NORMALIZED.fullmatch(item.published_at):
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
        if isinstance(item, PostBatchItem):
            item.posts = [p for p in map(self.normalize_one, item.posts) if p is not None]
            return item
        return self.normalize(item)

    def normalize_one(self, post: PostItem) -> PostItem | None:
        """One post of a batch: a post that cannot be fixed is dropped alone, and counted."""
        try:
            return normalize_post(post)
        except DropItem as exc:
            self.stats.inc_value(f"monitor/dropped/{exc}")
        except Exception:  # as Scrapy does for a single item: log it, lose that post only
            logger.exception("post %s of target %s not normalized", post.post_id, post.target_id)
            self.stats.inc_value("monitor/dropped/normalize_error")
        return None

    def normalize(self, item: Any) -> Any:
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
