"""Detection at scale: build the 1,000,000-post database (bench/bigdb.py) and time `scrapy detect` on it.

The first run also SimHashes the posts of the duplicate window (stored, so later runs only hash new
posts); the second run is what a daily cron pays.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.bigdb import AS_OF, build_big_db
from db import open_db

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def time_detect(db_path: Path) -> float:
    import subprocess

    env = {**os.environ, "MONITOR_DB": str(db_path), "MONITOR_AS_OF": AS_OF}
    started = time.monotonic()
    subprocess.run(
        [str(BIN / "scrapy"), "detect", "--db", str(db_path)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def run(ctx: Any) -> dict[str, Any]:
    db_path = Path(ctx.workdir) / "big.db"
    started = time.monotonic()
    if not db_path.exists():
        build_big_db(db_path, accounts=10_000, posts_per_account=100, findings=0)
    built = time.monotonic() - started
    first = time_detect(db_path)
    second = time_detect(db_path)
    db = open_db(db_path)
    posts = db["posts"].count
    open_findings = next(db.query("SELECT count(*) AS n FROM findings WHERE resolved_at IS NULL"))["n"]
    db.close()
    return {
        "command": f"scrapy detect --db {db_path.name} (MONITOR_AS_OF={AS_OF})",
        "posts": posts,
        "targets": 10_000,
        "build_seconds": round(built, 1),
        "first_run_seconds": round(first, 2),
        "rerun_seconds": round(second, 2),
        "open_findings": open_findings,
    }


if __name__ == "__main__":
    import json
    from types import SimpleNamespace

    work = Path(sys.argv[1] if len(sys.argv) > 1 else "data/bench-detect")
    work.mkdir(parents=True, exist_ok=True)
    print(json.dumps(run(SimpleNamespace(workdir=work)), indent=2, ensure_ascii=False))
