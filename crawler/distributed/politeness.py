"""Per-host politeness across every worker: a shared concurrency limit and minimum interval in Redis.

Scrapy's own delay and per-domain concurrency hold per process; with N workers a site would see N times
the rate. Here each request first takes a slot for its host in Redis: at most ``concurrency`` requests in
flight for the host over all workers, and starts at least ``delay`` seconds apart (Redis' clock decides,
so machines with drifting clocks agree). Limits come from the single-machine politeness settings
(DOWNLOAD_DELAY, CONCURRENT_REQUESTS_PER_DOMAIN, DOWNLOAD_SLOTS), kept in MONITOR_HOST_* when the worker
role hands the local throttles over to this middleware.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.distributed.config import Role, distributed_config

# KEYS: holders (zset token -> expiry ms), next start (ms). ARGV: limit, delay ms, token, hold ms.
# Returns 0 when the slot is taken, else how many ms to wait before asking again.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 20 end
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return nxt - now end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) + 1000)
redis.call('SET', KEYS[2], now + tonumber(ARGV[2]), 'PX', tonumber(ARGV[2]) + 1000)
return 0
"""
SLOT_META = "_monitor_host_slot"


class SharedPolitenessMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = distributed_config(crawler)
        self.server: Any = self.config.redis()
        self.acquire = self.server.register_script(ACQUIRE)
        # A holder that never releases (its worker died) frees its slot after the download timeout.
        self.hold_ms = int(crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 180) * 1000) + 5000
        self.waits = 0
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedPolitenessMiddleware:
        if distributed_config(crawler).role is not Role.WORKER:
            raise NotConfigured("shared politeness is for distributed workers")
        return cls(crawler)

    def _keys(self, host: str) -> list[str]:
        return [f"{self.config.prefix}:host:{host}:holders", f"{self.config.prefix}:host:{host}:next"]

    async def process_request(self, request: Request) -> None:
        parts = urlparse_cached(request)
        host = parts.hostname
        if not host or parts.scheme not in ("http", "https"):
            return
        limit = self.config.host_limit(host)
        token = uuid.uuid4().hex
        keys = self._keys(host)
        while True:
            wait_ms = int(
                self.acquire(
                    keys=keys, args=[limit.concurrency, int(limit.delay_s * 1000), token, self.hold_ms]
                )
            )
            if wait_ms <= 0:
                break
            self.waits += 1
            await asyncio.sleep(wait_ms / 1000)
        request.meta[SLOT_META] = (host, token)

    def _release(self, request: Request) -> None:
        held = request.meta.pop(SLOT_META, None)
        if held is not None:
            self.server.zrem(self._keys(held[0])[0], held[1])

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)

    def spider_closed(self, spider: Any) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("monitor/distributed/politeness_waits", self.waits)
