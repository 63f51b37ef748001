"""The shared queue of target seeds: a Redis list, and a sorted set of leases for the seeds being crawled.

A worker pops a seed and leases it in one atomic step; it renews its leases while it works and releases
a seed only when everything that seed started is finished. A worker that dies stops renewing: its
leases expire and any worker (or the store) puts those seeds back in the queue, so no target is lost.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy_redis.queue import Base

# KEYS: queue, leases. ARGV: lease seconds. Pops the oldest seed and leases it until now + lease.
POP_AND_LEASE = """
local seed = redis.call('RPOP', KEYS[1])
if not seed then return nil end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), seed)
return seed
"""

# KEYS: leases. ARGV: lease seconds, seeds... Extends the leases still held (XX: a reclaimed one stays so).
RENEW = """
local t = redis.call('TIME')
local deadline = tonumber(t[1]) + tonumber(t[2]) / 1e6 + tonumber(ARGV[1])
local n = 0
for i = 2, #ARGV do n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', deadline, ARGV[i]) end
return n
"""

# KEYS: leases, queue. Moves every expired lease back to the front of the queue; returns how many.
RECLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, seed in ipairs(expired) do
  redis.call('ZREM', KEYS[1], seed)
  redis.call('RPUSH', KEYS[2], seed)
end
return #expired
"""


class LeasedQueue(Base):
    """FIFO of seeds (scrapy-redis' queue base: its serializer and request encoding) with leases."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        self.leases_key = f"{self.key}:leases"
        self.lease_s = float(spider.settings.getfloat("MONITOR_LEASE_S", 60.0))
        self._pop = server.register_script(POP_AND_LEASE)
        self._renew = server.register_script(RENEW)
        self._reclaim = server.register_script(RECLAIM)

    def __len__(self) -> int:
        return int(self.server.llen(self.key))

    def leased(self) -> int:
        return int(self.server.zcard(self.leases_key))

    def push(self, request: Request) -> None:
        self.server.lpush(self.key, self._encode_request(request))

    def pop_leased(self) -> tuple[bytes, Request] | None:
        """The next seed, leased to the caller: (its encoded form, to release it by, and the request)."""
        raw = self._pop(keys=[self.key, self.leases_key], args=[self.lease_s])
        if raw is None:
            return None
        return raw, self._decode_request(raw)

    def pop(self, timeout: int = 0) -> Request | None:
        popped = self.pop_leased()
        return popped[1] if popped else None

    def renew(self, raws: list[bytes]) -> None:
        if raws:
            self._renew(keys=[self.leases_key], args=[self.lease_s, *raws])

    def release(self, raw: bytes) -> None:
        self.server.zrem(self.leases_key, raw)

    def reclaim(self) -> int:
        """Put the seeds of workers that stopped renewing back in the queue."""
        return int(self._reclaim(keys=[self.leases_key, self.key]))

    def clear(self) -> None:
        self.server.delete(self.key, self.leases_key)
