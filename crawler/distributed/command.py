"""The base of `scrapy store` and `scrapy worker`: `scrapy crawl` in one role of a distributed crawl."""

from __future__ import annotations

import argparse
from typing import ClassVar

from scrapy.commands.crawl import Command as CrawlCommand
from scrapy.exceptions import UsageError

from crawler.distributed.config import Role, unreachable_message


class RoleCommand(CrawlCommand):
    """`scrapy crawl <spider>` with MONITOR_ROLE set; refuses to start without MONITOR_REDIS_URL."""

    role: ClassVar[Role]

    def syntax(self) -> str:
        return "[options] <spider>"

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        url = self.settings.get("MONITOR_REDIS_URL")
        if not url:
            raise UsageError("set MONITOR_REDIS_URL (or -s MONITOR_REDIS_URL=redis://host:6379/0)")
        problem = unreachable_message(str(url))
        if problem is not None:
            raise UsageError(problem)
        self.settings.set("MONITOR_ROLE", self.role.value, priority="cmdline")
