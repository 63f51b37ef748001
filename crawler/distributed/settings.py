"""The settings each role needs, applied by the spider (``update_settings``) so `scrapy crawl`, `scrapy
worker`, `scrapy store` and Scrapyd's `schedule.json` all start the same crawl from the same settings."""

from __future__ import annotations

from typing import Any

from crawler.distributed.config import Role, redis_params

PRIORITY = "spider"


def role_of(settings: Any) -> Role:
    if not settings.get("MONITOR_REDIS_URL"):
        return Role.SINGLE
    return Role(str(settings.get("MONITOR_ROLE") or Role.WORKER))


def apply_role(settings: Any) -> Role:
    """Install the scheduler, pipelines and middlewares of this process's role; return the role."""
    role = role_of(settings)
    if role is Role.SINGLE:
        return role
    prefix = str(settings.get("MONITOR_REDIS_PREFIX") or "govmedia")
    settings.set("REDIS_URL", settings.get("MONITOR_REDIS_URL"), priority=PRIORITY)
    settings.set("REDIS_PARAMS", {**settings.getdict("REDIS_PARAMS"), **redis_params()}, priority=PRIORITY)
    if role is Role.STORE:
        return role
    settings.set("SCHEDULER", "crawler.distributed.scheduler.WorkerScheduler", priority=PRIORITY)
    settings.set("SCHEDULER_QUEUE_CLASS", "crawler.distributed.queue.LeasedQueue", priority=PRIORITY)
    settings.set("SCHEDULER_QUEUE_KEY", f"{prefix}:%(spider)s:seeds", priority=PRIORITY)
    settings.set("SCHEDULER_DUPEFILTER_KEY", f"{prefix}:%(spider)s:dupefilter", priority=PRIORITY)
    settings.set("SCHEDULER_PERSIST", True, priority=PRIORITY)
    settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", priority=PRIORITY)
    settings.set("ITEM_PIPELINES", {"crawler.distributed.items.ItemQueuePipeline": 100}, priority=PRIORITY)
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["crawler.distributed.crawl.WorkerLifecycle"] = 100
    settings.set("EXTENSIONS", extensions, priority=PRIORITY)
    middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    # Next to the downloader: the slot is taken last before the fetch and given back first after it.
    middlewares["crawler.distributed.politeness.SharedPolitenessMiddleware"] = 960
    settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority=PRIORITY)
    # The single-machine throttles become the shared per-host limits; locally nothing waits twice.
    slots = settings.getdict("DOWNLOAD_SLOTS") or {}
    concurrency = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
    if settings.getpriority("MONITOR_HOST_CONCURRENCY") is None:
        settings.set("MONITOR_HOST_CONCURRENCY", concurrency, priority=PRIORITY)
    if settings.getpriority("MONITOR_HOST_DELAY_S") is None:
        settings.set("MONITOR_HOST_DELAY_S", settings.getfloat("DOWNLOAD_DELAY"), priority=PRIORITY)
    if settings.getpriority("MONITOR_HOST_SLOTS") is None:
        settings.set("MONITOR_HOST_SLOTS", slots, priority=PRIORITY)
    widest = max(
        [
            settings.getint("MONITOR_HOST_CONCURRENCY"),
            concurrency,
            *(int(s.get("concurrency", 1)) for s in slots.values()),
        ]
    )
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", widest, priority=PRIORITY)
    settings.set("DOWNLOAD_DELAY", 0, priority=PRIORITY)
    settings.set("AUTOTHROTTLE_ENABLED", False, priority=PRIORITY)
    settings.set("DOWNLOAD_SLOTS", {h: {"concurrency": widest, "delay": 0} for h in slots}, priority=PRIORITY)
    return role
