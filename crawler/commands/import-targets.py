"""`scrapy import-targets FILE`: validate a targets registry and upsert it into the database."""

from __future__ import annotations

import argparse
import sys
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from core.clock import now_iso
from crawler.preflight import require_rules
from crawler.targets import read_targets_file
from db import open_db, resolve_db_path, upsert_target
from db.detection import write_rules


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options] FILE.csv|FILE.yaml"

    def short_desc(self) -> str:
        return "Validate a targets registry (CSV or YAML) and import it into the database"

    def long_desc(self) -> str:
        return (
            "Every row is validated first (platform, URL/handle, level, region code...). If any row\n"
            "is bad, each bad row is printed with its line number and reason, and the database is\n"
            "left unchanged. Re-importing updates rows in place (keyed by platform + handle/URL).\n\n"
            "Example:\n  scrapy import-targets targets/example.yaml --db data/monitor.db"
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--db", help="SQLite file (default: MONITOR_DB setting)")
        parser.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="mark targets from the same file name that are no longer listed as inactive",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one targets file")
        assert self.settings is not None
        parsed = read_targets_file(args[0])
        if parsed.errors:
            print(f"{args[0]}: {len(parsed.errors)} problem(s); nothing was imported:", file=sys.stderr)
            for err in parsed.errors:
                where = f"{args[0]}:line {err.line}" if err.line is not None else args[0]
                print(f"  {where}: {err.reason}", file=sys.stderr)
            self.exitcode = 1
            return
        rules = require_rules(self.settings.get("MONITOR_RULES"))
        db = open_db(resolve_db_path(opts.db or self.settings.get("MONITOR_DB")))
        created = updated = deactivated = 0
        now = now_iso()
        with db.conn:
            # The desk shows rule labels and points before the first detection run.
            write_rules(db, rules.rules)
            keys = set()
            for row in parsed.rows:
                _, is_new = upsert_target(db, row, now=now)
                created += is_new
                updated += not is_new
                keys.add((row["platform"], row["key"]))
            if opts.deactivate_missing and parsed.rows:
                source = parsed.rows[0]["source_file"]
                for t in db.query(
                    "SELECT id, platform, key FROM targets WHERE source_file = ? AND active = 1",
                    [source],
                ):
                    if (t["platform"], t["key"]) not in keys:
                        db.table("targets").update(t["id"], {"active": 0, "updated_at": now})
                        deactivated += 1
        print(
            f"{args[0]}: {created} created, {updated} updated, {deactivated} deactivated "
            f"({len(parsed.rows)} rows) -> {db.conn.execute('PRAGMA database_list').fetchone()[2]}"
        )
