"""Requests per account: first and second crawl of the demo world's WeChat and Weibo accounts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from db import open_db
from demo.wechat import DEMO_COOKIE, DEMO_TOKEN

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(ctx: Any) -> dict[str, Any]:
    db_path = ctx.workdir / "accounts.db"
    env = {
        **os.environ,
        "MONITOR_DB": str(db_path),
        "MONITOR_LOCAL_WORLD": "1",
        "MONITOR_AS_OF": "2026-06-30T12:00:00+08:00",
        "MONITOR_LOG_LEVEL": "WARNING",
        "MONITOR_WECHAT_TOKEN": DEMO_TOKEN,
        "MONITOR_WECHAT_COOKIE": DEMO_COOKIE,
    }
    targets = ctx.workdir / "targets.yaml"
    subprocess.run(
        [str(BIN / "scrapy"), "import-targets", str(targets)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    out: dict[str, Any] = {}
    for crawl in ("first", "second"):
        for spider in ("wechat", "weibo"):
            started = time.monotonic()
            subprocess.run(
                [str(BIN / "scrapy"), "crawl", spider],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            seconds = time.monotonic() - started
            db = open_db(db_path)
            run_id = next(db.query("SELECT max(id) AS id FROM runs WHERE spider = ?", [spider]))["id"]
            rows = list(db.query("SELECT requests FROM run_targets WHERE run_id = ?", [run_id]))
            db.close()
            reqs = [r["requests"] for r in rows]
            out[f"{spider}_{crawl}"] = {
                "accounts": len(reqs),
                "requests": sum(reqs),
                "requests_per_account_mean": round(sum(reqs) / max(len(reqs), 1), 2),
                "requests_per_account_max": max(reqs, default=0),
                "seconds": round(seconds, 2),
            }
    return out
