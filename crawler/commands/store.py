"""`scrapy store <spider>`: seed a distributed crawl and write what its workers find into the database."""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as CrawlCommand
from scrapy.exceptions import UsageError

ROLE = "store"


class Command(CrawlCommand):
    def syntax(self) -> str:
        return "[options] <spider>"

    def short_desc(self) -> str:
        return "Seed a distributed crawl and store its items (needs MONITOR_REDIS_URL)"

    def long_desc(self) -> str:
        return (
            "The one writer of a distributed crawl, beside the database: starts the run, puts one seed\n"
            "per active target in Redis, runs the workers' items through normalize → store → detect,\n"
            "adds the workers' counters to the run and finishes it once the crawl has drained.\n\n"
            "Example:\n  MONITOR_REDIS_URL=redis://127.0.0.1:6379/0 scrapy store feed"
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        if not self.settings.get("MONITOR_REDIS_URL"):
            raise UsageError("set MONITOR_REDIS_URL (or -s MONITOR_REDIS_URL=redis://host:6379/0)")
        self.settings.set("MONITOR_ROLE", ROLE, priority="cmdline")
