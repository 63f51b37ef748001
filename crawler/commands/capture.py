"""`scrapy capture`: keep a copy of the pages behind open veto and deduction findings (取证)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from core.config import MonitorConfig
from db import open_db, resolve_db_path
from evidence.capture import capture_evidence, evidence_dir


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Capture the pages (HTML as fetched + screenshot) of open veto/deduction findings"

    def long_desc(self) -> str:
        return (
            "Detection does this by itself for the findings each run opens (MONITOR_EVIDENCE). This\n"
            "command catches up: every open veto or deduction finding whose latest opening or change has\n"
            "no capture yet gets one — the body as fetched over HTTP and a headless-Chromium screenshot,\n"
            "stored once by sha256 in evidence/ beside the database and listed in the evidence table. A\n"
            "re-run captures nothing new. Caps: MONITOR_EVIDENCE_MAX_BYTES per file,\n"
            "MONITOR_EVIDENCE_TOTAL_BYTES in all, MONITOR_EVIDENCE_MAX_URLS pages per finding.\n\n"
            "Example:\n  scrapy capture --db data/monitor.db\n  scrapy capture --run 12 --json"
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--db", help="SQLite file (default: MONITOR_DB setting)")
        parser.add_argument("--run", type=int, help="only findings that opened or changed in this run")
        parser.add_argument("--finding", type=int, action="append", help="only this finding id (repeatable)")
        parser.add_argument(
            "--limit", type=int, help="capture at most this many findings, most serious first (default: all)"
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("capture takes no positional arguments")
        assert self.settings is not None
        config = MonitorConfig.from_settings(self.settings)
        path = resolve_db_path(opts.db or self.settings.get("MONITOR_DB"))
        db = open_db(path)
        try:
            summary = capture_evidence(
                db, config, run_id=opts.run, finding_ids=opts.finding, limit=opts.limit
            )
        finally:
            db.close()
        if opts.json:
            print(json.dumps(asdict(summary), ensure_ascii=False))
            return
        if summary.skipped:
            print(f"capture skipped: {summary.skipped}")
            return
        print(
            f"evidence: {summary.findings} findings captured, {summary.rows} captures "
            f"({summary.files} new files, {summary.bytes_written} bytes, {summary.failed} failed) in "
            f"{evidence_dir(path)}"
            + (f"; total size cap reached, {summary.pending} findings left" if summary.capped else "")
            + (f"; {summary.pending} findings left" if summary.pending and not summary.capped else "")
            + "".join(f"; {n}" for n in summary.notes)
        )
