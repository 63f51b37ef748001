"""Distributed mode's settings, read once into a typed object: where Redis is, the role, keys, limits."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

# Redis restarting (a deploy, a failover, a reboot with persistence) or a dropped connection is waited
# for, not given up on: every command is retried with backoff — 0.2 s, 0.4 s … then every 5 s — for about
# a minute, reconnecting each time (the Lua scripts load themselves again after a restart). Past that the
# command fails, as before. Used by every client of the distributed mode, scrapy-redis' included.
REDIS_RETRIES = 16


def redacted(url: str) -> str:
    """The Redis URL to show: never its password."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def unreachable_message(url: str) -> str | None:
    """What to say when Redis at ``url`` does not answer now (one try, 5 s at most), or None when it
    does: a mistyped address or a Redis that is not running is said at once, not after a minute of
    retries."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=5, socket_timeout=5, retry=Retry(NoBackoff(), 0)
        )
        client.ping()
        client.close()
    except (redis.exceptions.RedisError, ValueError, OSError) as exc:
        why = f"{type(exc).__name__}: {exc}"
        return f"cannot reach Redis at {redacted(url)} ({why}); is redis-server running? (make redis)"
    return None


def redis_params() -> dict[str, Any]:
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return {
        "retry": Retry(ExponentialBackoff(cap=5.0, base=0.1), REDIS_RETRIES),
        "retry_on_error": [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
    }


class Role(StrEnum):
    SINGLE = "single"  # no Redis: the one-machine crawl
    WORKER = "worker"
    STORE = "store"


@dataclass(frozen=True)
class HostLimit:
    concurrency: int
    delay_s: float


@dataclass(frozen=True)
class DistributedConfig:
    redis_url: str
    role: Role
    prefix: str
    lease_s: float  # a leased target whose worker stops renewing it goes back to the queue after this
    host_default: HostLimit
    host_slots: dict[str, HostLimit] = field(default_factory=dict)
    worker_id: str = ""

    def key(self, spider: str, name: str) -> str:
        return f"{self.prefix}:{spider}:{name}"

    def redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self.redis_url, **redis_params())

    def host_limit(self, host: str) -> HostLimit:
        return self.host_slots.get(host, self.host_default)

    @classmethod
    def from_settings(cls, settings: Any) -> DistributedConfig:
        url = str(settings.get("MONITOR_REDIS_URL") or "")
        role = Role(str(settings.get("MONITOR_ROLE") or Role.WORKER)) if url else Role.SINGLE
        slots = settings.getdict("MONITOR_HOST_SLOTS") or {}
        default = HostLimit(
            concurrency=int(settings.getint("MONITOR_HOST_CONCURRENCY", 4)),
            delay_s=float(settings.getfloat("MONITOR_HOST_DELAY_S", 1.0)),
        )
        return cls(
            redis_url=url,
            role=role,
            prefix=str(settings.get("MONITOR_REDIS_PREFIX") or "govmedia"),
            lease_s=float(settings.getfloat("MONITOR_LEASE_S", 60.0)),
            host_default=default,
            host_slots={
                host: HostLimit(
                    int(s.get("concurrency", default.concurrency)), float(s.get("delay", default.delay_s))
                )
                for host, s in slots.items()
            },
            worker_id=f"{socket.gethostname()}:{os.getpid()}",
        )


def distributed_config(crawler: Any) -> DistributedConfig:
    """The crawl's DistributedConfig, built from its settings on first use."""
    config = getattr(crawler, "_distributed_config", None)
    if config is None:
        config = DistributedConfig.from_settings(crawler.settings)
        crawler._distributed_config = config
    return config  # type: ignore[no-any-return]
