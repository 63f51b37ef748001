"""Normalise items: every field to its column's type, timestamps to +08:00 ISO, text folded.

A field that cannot be made what its column holds (a dict where a name goes, a count past SQLite's
64-bit integer, a date no parser reads) is lost on its own and counted (``monitor/bad_field/<name>``):
the item is still stored. Only a post without an id is dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from functools import lru_cache
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from core.dates import normalize_timestamp
from core.fields import INT_RANGE, as_column, drain_bad_fields, note_bad_field
from core.items import AccountItem, BatchItem, CheckItem, PostItem
from core.text import clean_text

# What normalize_timestamp returns: a value already in this form is left as it is.
logger = logging.getLogger(__name__)
NORMALIZED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00")


@lru_cache(maxsize=32)
def column_types(cls: type) -> tuple[tuple[str, type], ...]:
    """(field, str/int/float) of an item class, from its annotations."""
    out = []
    for f in dataclasses.fields(cls):
        hint = str(f.type)
        kind = int if "int" in hint else float if "float" in hint else str
        out.append((f.name, kind))
    return tuple(out)


def coerce_item(item: Any) -> Any:
    """Every field of a dataclass item as its column's type; what cannot be is None (and counted)."""
    if not dataclasses.is_dataclass(item) or isinstance(item, type):
        return item
    values = vars(item)
    for name, kind in column_types(type(item)):
        value = values[name]
        if value is None or (type(value) is kind and (kind is float or (kind is int and value in INT_RANGE))):
            continue  # already what the column holds (text is still checked for lone surrogates)
        converted = as_column(name, value, kind)
        if converted is not value:
            setattr(item, name, converted)
    return item


def normalize_post(item: PostItem) -> PostItem:
    if not item.post_id:
        raise DropItem("post_without_id")
    item.title = clean_text(item.title) or None
    # Plain text, as each spider made it from what its source sends (HTML content, a JSON digest): read
    # as HTML again, markup the source spelled out as text (&lt;script&gt;) would be cut from the post.
    item.text = clean_text(item.text)
    item.text_length = len(item.text.replace("\n", "").replace(" ", ""))
    if item.published_at and not NORMALIZED.fullmatch(item.published_at):
        normalized = normalize_timestamp(item.published_at)
        if normalized is None:
            note_bad_field("published_at")  # the post without a date, rather than no post
        item.published_at = normalized
    return item


def normalize_item(item: Any) -> Any:
    """An item with every field as its column holds it; DropItem for a post without an id."""
    coerce_item(item)
    if isinstance(item, PostItem):
        return normalize_post(item)
    if isinstance(item, AccountItem):
        item.name = clean_text(item.name) or None
        item.description = clean_text(item.description) or None
    elif isinstance(item, CheckItem) and item.error:
        item.error = item.error[:1000]
    return item


class NormalizePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, BatchItem):
            item.items = [one for one in map(self.normalize_one, item.items) if one is not None]
            self.count_bad_fields()
            return item
        try:
            return normalize_item(item)
        except DropItem as exc:
            self.stats.inc_value(f"monitor/dropped/{exc}")  # type: ignore[union-attr]
            raise
        finally:
            self.count_bad_fields()

    def normalize_one(self, item: Any) -> Any:
        """One item of a batch: an item that cannot be fixed is dropped alone, and counted."""
        try:
            return normalize_item(item)
        except DropItem as exc:
            self.stats.inc_value(f"monitor/dropped/{exc}")  # type: ignore[union-attr]
        except Exception:  # as Scrapy does for a single item: log it, lose that item only
            logger.exception(
                "%s of target %s not normalized", type(item).__name__, getattr(item, "target_id", None)
            )
            self.stats.inc_value("monitor/dropped/normalize_error")  # type: ignore[union-attr]
        return None

    def count_bad_fields(self) -> None:
        for name, count in drain_bad_fields().items():
            self.stats.inc_value(f"monitor/bad_field/{name}", count)  # type: ignore[union-attr]
