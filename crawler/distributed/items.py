"""Items between machines: a worker pushes each item to a Redis list as JSON; the store process pops them.

The item dataclasses of core.items travel as ``{"type": class name, "fields": {...}}``; only those
classes are ever rebuilt, never arbitrary objects. A check leaves with a relay key of its own (a random
UUID), so a chunk the store drains again stores it once (db/migrations/m160_check_relay_key.py). A
worker's counters (requests per target, new posts per target, blocked answers…) travel the same way
when it closes, for the store to add to the run.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from core import items as item_classes
from crawler.distributed.config import Role, distributed_config

ITEM_TYPES: dict[str, type] = {
    name: cls
    for name, cls in vars(item_classes).items()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and name.endswith("Item")
}
# Counters a worker adds to the run: downloads, responses and the project's monitor/* stats (its items
# are counted again by the store that scrapes them).
SUMMED = ("downloader/", "response_received_count", "monitor/")
# Seeds are downloaded as data: URLs; they are no requests to a site.
SEED_COUNTED = ("downloader/request_count", "downloader/response_count", "response_received_count")


def _as_data(item: Any) -> dict[str, Any]:
    name = type(item).__name__
    if name not in ITEM_TYPES:
        raise TypeError(f"not a project item: {name}")
    if isinstance(item, item_classes.BatchItem):
        fields = {"target_id": item.target_id, "items": [_as_data(one) for one in item.items]}
    else:
        fields = dataclasses.asdict(item)
    if isinstance(item, item_classes.CheckItem) and fields["relay_key"] is None:
        fields["relay_key"] = uuid.uuid4().hex
    return {"type": name, "fields": fields}


def _from_data(data: dict[str, Any]) -> Any:
    fields = data["fields"]
    if data["type"] == "BatchItem":
        fields = {**fields, "items": [_from_data(one) for one in fields["items"]]}
    return ITEM_TYPES[data["type"]](**fields)


def encode_item(item: Any) -> bytes:
    return json.dumps(_as_data(item), ensure_ascii=False, default=str).encode()


def decode_item(raw: bytes) -> Any:
    return _from_data(json.loads(raw))


def summable_stats(stats: dict[str, Any]) -> dict[str, int | float]:
    counters = {
        k: v
        for k, v in stats.items()
        if k.startswith(SUMMED) and isinstance(v, int | float) and not isinstance(v, bool)
    }
    seeds = int(stats.get("monitor/distributed/targets_leased", 0))
    for name in SEED_COUNTED:
        if name in counters:
            counters[name] -= seeds
    return counters


class ItemQueuePipeline:
    """A worker's only pipeline: every item goes to the crawl's item list in Redis, in order."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = distributed_config(crawler)
        self.server: Any = self.config.redis()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ItemQueuePipeline:
        if distributed_config(crawler).role is not Role.WORKER:
            raise NotConfigured("the item queue is for distributed workers")
        return cls(crawler)

    def key(self, name: str) -> str:
        spider = self.crawler.spider
        return self.config.key(spider.name if spider else "?", name)

    def process_item(self, item: Any) -> Any:
        self.server.rpush(self.key("items"), encode_item(item))
        return item

    def spider_closed(self, spider: Any, reason: str) -> None:
        assert self.crawler.stats is not None
        stats = summable_stats(self.crawler.stats.get_stats())
        worker = self.config.worker_id
        # Report and leave in one step: the store waits for live workers that have not reported.
        pipe = self.server.pipeline(transaction=True)
        pipe.hset(self.key("worker_stats"), worker, json.dumps(stats))
        pipe.srem(self.key("workers"), worker)
        pipe.delete(self.key(f"alive:{worker}"))
        pipe.execute()
