"""`scrapy report`: a 通报-style report (Excel or printable page) from detection's verdicts and findings."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from sqlite_utils import Database

from db import open_db, resolve_db_path
from db.desk.params import check_param
from db.reports import ReportScope

FORMATS = ("xlsx", "html")


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "--out FILE [--format xlsx|html] [options]"

    def short_desc(self) -> str:
        return "Write a 通报-style report (Excel or printable HTML) for a region, level, 主办单位 and period"

    def long_desc(self) -> str:
        return (
            "Reads detection's verdicts (target_scores) and findings — nothing is recomputed — for the\n"
            "targets in scope and the findings there during the period, and writes either an Excel\n"
            "workbook (汇总: counts and 合格率 by region, level and 主办单位; 不合格对象: the failing\n"
            "indicator and its evidence link; one sheet per indicator) or one printable HTML page.\n"
            "--region takes a name prefix or a region code (the region and everything under it); --level\n"
            "accepts 县级 or county; --since / --until are YYYY-MM-DD. --desk-url links each finding to its\n"
            "card on the desk.\n\n"
            "Example:\n"
            "  scrapy report --format xlsx --out 通报-临江市.xlsx --region 临江市 --since 2026-06-01\n"
            "  scrapy report --out report.html --level county --desk-url http://desk.example:8001/"
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--db", help="SQLite file (default: MONITOR_DB setting)")
        parser.add_argument("--out", required=True, help="the file to write (.xlsx or .html)")
        parser.add_argument("--format", choices=FORMATS, help="xlsx or html (default: from --out)")
        parser.add_argument("--region", default="", help="region name prefix or region code")
        parser.add_argument("--level", default="", help="国家级 / 省级 / 市级 / 县级 / 乡镇级 (or English)")
        parser.add_argument("--org", default="", help="part of the 主办单位")
        parser.add_argument("--since", default="", help="findings still open on or after this day")
        parser.add_argument("--until", default="", help="findings first seen on or before this day")
        parser.add_argument("--desk-url", dest="desk_url", help="the desk's address, to link finding cards")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("report takes no positional arguments")
        assert self.settings is not None
        out = Path(opts.out)
        fmt = opts.format or out.suffix.lstrip(".").lower()
        if fmt not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)} (or --out ending .xlsx / .html)")
        values = {}
        for name in ("level", "since", "until"):
            value, why = check_param(name, getattr(opts, name))
            if why:
                raise UsageError(f"--{name} {getattr(opts, name)!r}: {why}")
            values[name] = value
        if values["since"] and values["until"] and values["since"] > values["until"]:
            raise UsageError("--until is before --since")
        path = resolve_db_path(opts.db or self.settings.get("MONITOR_DB"))
        if not Path(path).exists():
            raise UsageError(f"{path} does not exist: import targets, crawl and detect first")
        # Scrapy imports every command's module at each `scrapy` call: the report's model and its
        # workbook and page writers (openpyxl, Jinja) only when a report is written.
        from crawler.reporting.html import write_html
        from crawler.reporting.model import build_report
        from crawler.reporting.xlsx import write_xlsx

        open_db(path).close()  # bring an older file up to the current schema, as the desk does
        db = Database(sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True))
        try:
            scope = ReportScope(region=opts.region.strip(), org=opts.org.strip(), **values)
            report = build_report(db, scope, desk_url=opts.desk_url)
        finally:
            db.close()
        (write_xlsx if fmt == "xlsx" else write_html)(report, out)
        t = report.total
        rate = f"{t.pass_rate}%" if t.pass_rate is not None else "—"
        findings = sum(len(i.findings) for i in report.indicators)
        print(
            f"{out}: {report.scope_text}; {t.targets} targets, 合格 {t.qualified}, 不合格 {t.unqualified}, "
            f"无法检查 {t.unchecked}, 合格率 {rate}; {findings} findings, {len(report.indicators)} indicators"
        )
