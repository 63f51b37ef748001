"""The base of `scrapy store` and `scrapy worker`: `scrapy crawl` in one role of a distributed crawl."""

from __future__ import annotations

import argparse
from typing import ClassVar
from urllib.parse import urlsplit

from scrapy.commands.crawl import Command as CrawlCommand
from scrapy.exceptions import UsageError

from crawler.distributed.config import Role, unreachable


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
        why = unreachable(str(url))
        if why is not None:
            parts = urlsplit(str(url))
            shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()  # never the password
            raise UsageError(f"cannot reach Redis at {shown} ({why}); is redis-server running? (make redis)")
        self.settings.set("MONITOR_ROLE", self.role.value, priority="cmdline")
