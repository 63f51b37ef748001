"""The Scrapy add-on that switches distributed mode on when MONITOR_REDIS_URL is set (off by default)."""

from __future__ import annotations

from typing import Any

from crawler.distributed.config import Role
from crawler.distributed.settings import PRIORITY, apply_role


class DistributedAddon:
    def update_settings(self, settings: Any) -> None:
        if apply_role(settings) is Role.SINGLE:
            return
        middlewares = dict(settings.getdict("SPIDER_MIDDLEWARES"))
        middlewares["crawler.distributed.start.DistributedStartMiddleware"] = 10
        settings.set("SPIDER_MIDDLEWARES", middlewares, priority=PRIORITY)
