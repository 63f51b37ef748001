"""`scrapy crawlall`: every spider, then detection over everything, as one sequence that never runs twice
at once on a database (what cron and the systemd timer start)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from alerts.service import send_alerts
from core.clock import parse_as_of
from core.config import notify_urls, resolve_db_path
from core.locks import Lock, lock_path
from crawler.preflight import require_rules, require_targets
from crawler.summary import format_summary
from db import open_db
from db.runs import report_runs
from detection.service import detect

SPIDERS = ("feed", "portal", "wechat", "weibo")
# The exit status of a start that found the sequence already running (EX_TEMPFAIL: try again later).
BUSY = 75


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Crawl with every spider, then detect: one whole sequence at a time per database"

    def long_desc(self) -> str:
        return (
            "Runs `scrapy crawl` for feed, portal, wechat and weibo one after another, then detection\n"
            "over every active target, holding a lock beside the database for the whole sequence: a\n"
            f"second start while one runs exits with status {BUSY} and a line saying so (or waits,\n"
            "with --wait). Alerts ($MONITOR_NOTIFY) are sent once, at the end, followed by one summary.\n"
            "-s NAME=VALUE settings are passed on to every spider.\n\n"
            "Example:\n  scrapy crawlall --db data/monitor.db --wait 600"
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--db", help="SQLite file (default: MONITOR_DB setting)")
        parser.add_argument("--spiders", default=",".join(SPIDERS), help="comma-separated (default: all)")
        parser.add_argument(
            "--wait", type=float, default=0.0, help="seconds to wait for a running sequence (default: 0)"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("crawlall takes no positional arguments")
        assert self.settings is not None
        path = resolve_db_path(opts.db or self.settings.get("MONITOR_DB"))
        spiders = [s.strip() for s in opts.spiders.split(",") if s.strip()]
        if not spiders:
            raise UsageError("--spiders names no spider", print_help=False)
        rules = require_rules(self.settings.get("MONITOR_RULES"))
        require_targets(path)
        lock = Lock(lock_path(path, "crawlall"))
        if not lock.acquire(timeout=opts.wait):
            print(
                f"crawlall: another crawlall (pid {lock.holder()}) is running on {path}; "
                "not starting a second one",
                file=sys.stderr,
                flush=True,
            )
            self.exitcode = BUSY
            return
        try:
            self.exitcode = self.crawl_all(path, spiders, rules, opts.set or [])
        finally:
            lock.release()

    def crawl_all(self, path: str, spiders: list[str], rules: Any, settings: list[str]) -> int:
        assert self.settings is not None
        started = time.monotonic()
        print(f"crawlall: {', '.join(spiders)} on {path} (pid {os.getpid()})", flush=True)
        env = {**os.environ, "MONITOR_DB": path}
        env.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
        forwarded = [a for s in settings for a in ("-s", s)]
        quiet = ["-s", "MONITOR_NOTIFY_ON_CLOSE=0", "-s", "MONITOR_SUMMARY=0"]
        pids, failed = [], []
        for spider in spiders:
            child = subprocess.Popen(
                [sys.executable, "-m", "scrapy", "crawl", spider, *quiet, *forwarded], env=env
            )
            pids.append(child.pid)
            if child.wait() != 0:
                failed.append(spider)
        db = open_db(path)
        try:
            marks = ", ".join("?" for _ in pids)
            run_ids = [r[0] for r in db.execute(f"SELECT id FROM runs WHERE pid IN ({marks})", pids)]
            summary = detect(
                db,
                as_of=parse_as_of(self.settings.get("MONITOR_AS_OF")),
                rules=rules,
                profile=self.settings.get("MONITOR_PROFILE") or None,
            )
            run_ids.append(summary.run_id)
            urls = notify_urls()
            desk = self.settings.get("MONITOR_DESK_URL") or None
            alerts = send_alerts(db, urls, desk_url=desk).line() if urls else None
            print(format_summary(report_runs(db, run_ids), seconds=time.monotonic() - started, alerts=alerts))
        finally:
            db.close()
        if failed:
            print(f"crawlall: {', '.join(failed)} exited with an error (see above)", file=sys.stderr)
            return 1
        return 0
