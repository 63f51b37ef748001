"""`scrapy crawl SPIDER`: Scrapy's own, after a check that there is something to crawl."""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawl

from core.config import resolve_db_path
from crawler.preflight import parse_ids, require_rules, require_targets


class Command(ScrapyCrawl):
    def long_desc(self) -> str:
        return (
            "Runs one spider (feed, portal, wechat, weibo, probe) over the active targets in the\n"
            "database. A missing database, a database with no active targets, an unknown id in\n"
            "-a targets=... or a rules file (MONITOR_RULES) that cannot be read is an error.\n"
            "The run's health, alerts and a summary follow at the end.\n\n"
            "Example:\n  scrapy crawl feed -s MONITOR_DB=data/monitor.db -a targets=3,5"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            require_targets(
                resolve_db_path(self.settings.get("MONITOR_DB")),
                parse_ids(opts.spargs.get("targets")) or None,
            )
            require_rules(self.settings.get("MONITOR_RULES"))
        super().run(args, opts)
