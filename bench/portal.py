"""Bench: one full portal check of the demo world (probe, columns, pagination, articles, links, boards)."""

from __future__ import annotations

import json
import os
from typing import Any

from bench.run import BIN, ROOT, BenchContext, timed
from db import open_db


def run(ctx: BenchContext) -> dict[str, Any]:
    db_path = ctx.workdir / "portal.db"
    env = {
        **os.environ,
        "MONITOR_DB": str(db_path),
        "MONITOR_LOCAL_WORLD": "1",
        "MONITOR_AS_OF": "2026-06-30T12:00:00+08:00",
        "MONITOR_LOG_LEVEL": "WARNING",
    }
    targets = ctx.workdir / "targets.yaml"  # the bench world's targets, portals included
    timed([str(BIN / "scrapy"), "import-targets", str(targets)], env)
    seconds, peak = timed([str(BIN / "scrapy"), "crawl", "portal"], env)
    db = open_db(db_path)
    try:
        run_row = next(db.query("SELECT * FROM runs WHERE spider = 'portal' ORDER BY id DESC LIMIT 1"))
        stats = json.loads(run_row["stats"])
        counts = {t: db[t].count for t in ("sites", "columns", "column_items", "messages")}
        links = db.execute("SELECT count(*) FROM checks WHERE kind = 'link'").fetchone()[0]
    finally:
        db.close()
    return {
        "command": "scrapy crawl portal (MONITOR_LOCAL_WORLD=1; 4 demo portals + 1 unreachable)",
        "cwd": str(ROOT),
        "wall_seconds": round(seconds, 2),
        "requests": run_row["requests"],
        "browser_requests": stats.get("playwright/request_count", 0),
        "link_checks": links,
        "peak_rss_mib": peak,
        **counts,
    }
