"""`make bench`: serve a generated demo world, time the bare-Scrapy ceiling and the real crawl.

Writes bench/results.json. Later stages register more measurements in EXTRA_BENCHES: each is a
module with ``run(ctx: BenchContext) -> dict`` whose figures are added under its name.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.clock import parse_iso
from db import open_db
from demo.run import wait_for_port
from demo.server import targets_yaml
from demo.world import World
from tests.helpers import free_port
from tests.redis_helpers import REDIS_SERVER

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AS_OF = "2026-06-30T12:00:00+08:00"
EXTRA_BENCHES: list[str] = [
    # portal (issue 3)
    "portal",
    # accounts (issue 4)
    "accounts",
    # datasette (issue 6), then detection (issue 5) on the same 1,000,000-post database
    "datasette",
    "detection",
    # a province, 1 and 2 distributed workers (issue 14)
    "province",
]


@dataclass
class BenchContext:
    workdir: Path
    base_url: str
    db_path: Path  # the database the real crawl filled
    args: argparse.Namespace


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run ``cmd``; return (wall seconds, peak RSS in MiB of that process)."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-4000:]}")
    return elapsed, usage.ru_maxrss // 1024


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def targets_report(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 14 beside its figure from this run, and whether it was met."""
    desk = _get(results, "datasette") or {}
    pages = [v["median_ms"] for v in (desk.get("pages") or {}).values()]
    slowest_page = max([desk.get("slowest_median_ms") or 0, *pages]) if desk else None
    rows = [
        (
            "real crawl / bare-Scrapy ceiling (feed world)",
            ">=",
            0.5,
            _get(results, "crawl", "real_to_bare_ratio"),
        ),
        (
            "scrapy detect at 1,000,000 posts, first run, posts as crawled (s)",
            "<=",
            10,
            _get(results, "detection", "first_run_over_crawled_posts_seconds"),
        ),
        (
            "scrapy detect at 1,000,000 posts, first run, posts by SQL (s)",
            "<=",
            10,
            _get(results, "detection", "first_run_seconds"),
        ),
        (
            "scrapy detect at 1,000,000 posts, unchanged, median of 3 (s)",
            "<=",
            2,
            _get(results, "detection", "rerun_seconds"),
        ),
        ("slowest desk page or query, median (ms)", "<=", 300, slowest_page),
        (
            "open findings with facets (ms)",
            "<=",
            300,
            _get(desk, "pages", "open_findings_with_facets_html", "median_ms"),
        ),
        (
            "peak RSS per worker, province (MiB)",
            "<=",
            500,
            _get(results, "province", "peak_rss_per_worker_mib"),
        ),
    ]
    out = []
    for name, op, target, figure in rows:
        met = None if figure is None else (figure >= target if op == ">=" else figure <= target)
        out.append({"target": name, "wanted": f"{op} {target}", "figure": figure, "met": met})
    return out


def print_targets(rows: list[dict[str, Any]]) -> None:
    print("\ntargets (issue 14):")
    for r in rows:
        verdict = "not measured" if r["met"] is None else ("met" if r["met"] else "NOT met")
        print(f"  {r['target']:<66} {r['wanted']:>8}  {r['figure']!s:>8}  {verdict}")


def missing_tools(only: list[str] | None) -> list[str]:
    """What the benches to run need that this machine lacks."""
    wanted = set(EXTRA_BENCHES if only is None else only)
    missing = []
    if "province" in wanted and not Path(REDIS_SERVER).exists():
        missing.append(
            "redis-server, which the province bench's distributed workers share (Debian: apt install "
            "redis-server; or leave the province out: --only portal accounts datasette detection)"
        )
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=30)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--only", nargs="*", help="run only these extra benches")
    parser.add_argument("--province-accounts", type=int, default=None, help="accounts of the province bench")
    parser.add_argument(
        "--province-portals", type=int, default=None, help="portal sites of the province bench"
    )
    args = parser.parse_args(argv)
    missing = missing_tools(args.only)
    if missing:  # said now, not after the minutes the benches before it take
        parser.error("this machine lacks " + "; ".join(missing))

    work = Path(tempfile.mkdtemp(prefix="govmedia-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    world = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo",
            "serve",
            "--port",
            str(port),
            "--as-of",
            AS_OF,
            "--accounts",
            str(args.accounts),
            "--posts",
            str(args.posts),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results: dict[str, Any] = {
        "accounts": args.accounts,
        "posts_per_account": args.posts,
        "cpu_count": os.cpu_count(),
    }
    try:
        wait_for_port(port)
        db_path = work / "monitor.db"
        env = {
            **os.environ,
            "MONITOR_DB": str(db_path),
            "MONITOR_LOCAL_WORLD": "1",
            "MONITOR_AS_OF": AS_OF,
            "MONITOR_LOG_LEVEL": "WARNING",
            # Evidence capture (a fetch and a Chromium screenshot per veto/deduction finding, after
            # detection) is not crawling: it is timed on its own below, on the same database.
            "MONITOR_EVIDENCE": "0",
        }
        targets = work / "targets.yaml"
        world_model = World(as_of=parse_iso(AS_OF), accounts=args.accounts, posts=args.posts)
        targets.write_text(targets_yaml(world_model, base), encoding="utf-8")
        subprocess.run(
            [str(BIN / "scrapy"), "import-targets", str(targets)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        db = open_db(db_path)
        urls = [
            r["feed_url"]
            for r in db.query("SELECT feed_url FROM targets WHERE feed_url IS NOT NULL ORDER BY id")
        ]
        db.close()
        urls_file = work / "urls.txt"
        urls_file.write_text("\n".join(urls), encoding="utf-8")

        bare_stats = work / "bare-stats.json"
        bare_s, bare_mem = timed(
            [
                str(BIN / "scrapy"),
                "runspider",
                str(ROOT / "bench" / "bare_spider.py"),
                "-a",
                f"urls_file={urls_file}",
                "-a",
                f"stats_file={bare_stats}",
            ],
            env,
        )
        real_s, real_mem = timed([str(BIN / "scrapy"), "crawl", "feed"], env)
        db = open_db(db_path)
        run = next(db.query("SELECT * FROM runs ORDER BY id DESC LIMIT 1"))
        bare_pages = json.loads(bare_stats.read_text())["downloader/request_count"]
        posts = db.table("posts").count
        db.close()
        results["crawl"] = {
            "command": "scrapy crawl feed (MONITOR_LOCAL_WORLD=1)",
            "pages": run["requests"],
            "bare_pages": bare_pages,
            "bare_seconds": round(bare_s, 2),
            "real_seconds": round(real_s, 2),
            "bare_pages_per_s": round(bare_pages / bare_s, 1),
            "real_pages_per_s": round(run["requests"] / real_s, 1),
            "real_to_bare_ratio": round((run["requests"] / real_s) / (bare_pages / bare_s), 3),
            "posts_stored": posts,
            "posts_per_s": round(posts / real_s, 1),
            "bare_peak_rss_mib": bare_mem,
            "real_peak_rss_mib": real_mem,
            "db_size_mib": round(db_path.stat().st_size / 2**20, 2),
        }
        capture_s, capture_mem = timed(
            [str(BIN / "scrapy"), "capture", "--limit", "200"], {**env, "MONITOR_EVIDENCE": "1"}
        )
        db = open_db(db_path)
        captured = next(db.query("SELECT count(DISTINCT finding_id) AS n FROM evidence"))["n"]
        db.close()
        results["crawl"]["capture"] = {
            "command": "scrapy capture --limit 200 (what one detection captures at most)",
            "findings_captured": captured,
            "seconds": round(capture_s, 2),
            "peak_rss_mib": capture_mem,
        }
        print(json.dumps(results["crawl"], indent=2, ensure_ascii=False), flush=True)
        ctx = BenchContext(work, base, db_path, args)
        for name in EXTRA_BENCHES:
            if args.only is not None and name not in args.only:
                continue
            module = importlib.import_module(f"bench.{name}")
            results[name] = module.run(ctx)
            print(json.dumps({name: results[name]}, indent=2, ensure_ascii=False), flush=True)
    finally:
        world.terminate()
        world.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)  # several GiB: nothing of the bench stays in the temp folder
    results["targets"] = targets_report(results)
    print_targets(results["targets"])
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
