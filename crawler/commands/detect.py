"""`scrapy detect`: evaluate every rule over the database and update findings (their lifecycle and scores)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from alerts.service import send_alerts
from core.clock import parse_as_of
from core.config import MonitorConfig, notify_urls
from crawler.heap import collector_tuned
from crawler.preflight import require_rules, require_targets
from db import open_db, resolve_db_path
from detection.rules.config import RulesError
from detection.service import detect
from evidence.capture import capture_evidence


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Turn stored posts, checks, columns and messages into findings (as of a check time)"

    def long_desc(self) -> str:
        return (
            "Applies the rules file (thresholds, severities, profiles) to every active target, or to\n"
            "--target ids, compared against --as-of (default: MONITOR_AS_OF, else now). Findings are\n"
            "upserted per (target, rule, subject): a re-run updates, a cleared condition resolves, a\n"
            "re-occurrence re-opens with its history kept in finding_events. Scores: view target_scores.\n"
            "Veto and deduction findings that opened get their pages captured (evidence/, see\n"
            "`scrapy capture`; MONITOR_EVIDENCE=0 switches it off).\n"
            "A missing database or an unknown --target is an error. Alerts ($MONITOR_NOTIFY) follow.\n\n"
            "Example:\n  scrapy detect --db data/monitor.db --as-of 2026-06-30 --profile 周更"
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--db", help="SQLite file (default: MONITOR_DB setting)")
        parser.add_argument("--as-of", dest="as_of", help="check time, ISO date or datetime (default: now)")
        # Replaces Scrapy's global --profile (cProfile output file): here it names a rules profile.
        parser.add_argument(
            "--profile",
            dest="rules_profile",
            help="judge every target under this rules profile (default: each target's own)",
        )
        parser.set_defaults(profile=None)  # scrapy.cmdline reads opts.profile to decide on cProfile
        parser.add_argument("--rules", help="rules file (default: MONITOR_RULES, else the shipped one)")
        parser.add_argument("--target", type=int, action="append", help="only this target id (repeatable)")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.add_argument(
            "--full",
            action="store_true",
            help="read every account's posts again instead of reusing what the last run read of "
            "posts that did not change",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("detect takes no positional arguments")
        assert self.settings is not None
        rules = require_rules(opts.rules or self.settings.get("MONITOR_RULES"))
        try:
            if opts.rules_profile:
                rules.resolved(opts.rules_profile)
            as_of = parse_as_of(opts.as_of or self.settings.get("MONITOR_AS_OF"))
        except (RulesError, ValueError) as exc:
            raise UsageError(str(exc)) from exc
        path = resolve_db_path(opts.db or self.settings.get("MONITOR_DB"))
        require_targets(path, opts.target)
        db = open_db(path)
        try:
            with collector_tuned(self.settings):
                summary = detect(
                    db,
                    as_of=as_of,
                    rules=rules,
                    profile=opts.rules_profile,
                    target_ids=opts.target,
                    full=opts.full,
                )
            config = MonitorConfig.from_settings(self.settings)
            capture_evidence(db, config, run_id=summary.run_id, limit=config.evidence.per_run)
            urls = notify_urls()
            alerts = (
                send_alerts(db, urls, desk_url=self.settings.get("MONITOR_DESK_URL") or None)
                if urls
                else None
            )
        finally:
            db.close()
        if opts.json:
            print(json.dumps(asdict(summary), ensure_ascii=False))
            return
        print(
            f"detect run {summary.run_id} as of {summary.as_of}: {summary.targets} targets, "
            f"{summary.findings} findings ({', '.join(f'{k} {v}' for k, v in summary.by_rule.items()) or 'none'}); "  # noqa: E501
            f"lifecycle {summary.lifecycle}; verdicts {summary.verdicts or 'none'}"
            + (f"; {summary.held} held (crawler-side problem)" if summary.held else "")
            + (f"; {summary.errors} rule errors (see detect_errors)" if summary.errors else "")
            + (
                f"; posts read again for {summary.facts_read} accounts, reused for {summary.facts_reused}"
                if summary.facts_reused
                else ""
            )
            + f"; {summary.seconds:.2f}s"
            + (f"; alerts: {alerts.line()}" if alerts else "")
        )
