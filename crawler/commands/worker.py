"""`scrapy worker <spider>`: crawl seeds of a distributed crawl from Redis (MONITOR_REDIS_URL)."""

from __future__ import annotations

from crawler.distributed.command import RoleCommand
from crawler.distributed.config import Role


class Command(RoleCommand):
    role = Role.WORKER

    def short_desc(self) -> str:
        return "Run a distributed worker for a spider (needs MONITOR_REDIS_URL)"

    def long_desc(self) -> str:
        return (
            "Leases target seeds from the shared Redis queue, crawls each target whole and pushes its\n"
            "items to Redis for the store process; per-host limits are shared by all workers. Stops\n"
            "when the crawl has drained. Start any number, on any machine that reaches Redis.\n\n"
            "Example:\n  MONITOR_REDIS_URL=redis://10.0.0.5:6379/0 scrapy worker feed"
        )
