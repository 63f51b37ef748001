"""`scrapy worker <spider>`: crawl seeds of a distributed crawl from Redis (MONITOR_REDIS_URL)."""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as CrawlCommand
from scrapy.exceptions import UsageError

ROLE = "worker"


class Command(CrawlCommand):
    def syntax(self) -> str:
        return "[options] <spider>"

    def short_desc(self) -> str:
        return f"Run a distributed {ROLE} for a spider (needs MONITOR_REDIS_URL)"

    def long_desc(self) -> str:
        return (
            "Leases target seeds from the shared Redis queue, crawls each target whole and pushes its\n"
            "items to Redis for the store process; per-host limits are shared by all workers. Stops\n"
            "when the crawl has drained. Start any number, on any machine that reaches Redis.\n\n"
            "Example:\n  MONITOR_REDIS_URL=redis://10.0.0.5:6379/0 scrapy worker feed"
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        if not self.settings.get("MONITOR_REDIS_URL"):
            raise UsageError("set MONITOR_REDIS_URL (or -s MONITOR_REDIS_URL=redis://host:6379/0)")
        self.settings.set("MONITOR_ROLE", ROLE, priority="cmdline")
