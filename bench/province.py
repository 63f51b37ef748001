"""A province on one machine: a generated province crawled first and re-checked, by 1 and by 2 workers.

The demo world grows a province (demo.world.province: accounts split over feeds, WeChat and Weibo, and
portal sites with columns, boards and links) served by its own demo server. Each worker count gets a
fresh database: `scrapy store` + N × `scrapy worker` per spider against a real redis-server, a first
crawl and then an unchanged re-check. Reported per phase: wall time, requests (and per target, per
platform), pages/s, peak RSS of each worker and of the store, database size, and the politeness the
server saw (most requests in flight on the host, shortest and mean gap between arrivals).

Registered in bench/run.py EXTRA_BENCHES; alone: `python -m bench.province [--accounts N --portals M]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.run import AS_OF, BIN, ROOT
from core.clock import parse_iso
from db import open_db
from demo.run import wait_for_port
from demo.server import targets_yaml
from demo.wechat import DEMO_COOKIE, DEMO_TOKEN
from demo.world import province
from tests.helpers import free_port
from tests.redis_helpers import redis_server

SPIDERS = ("feed", "portal", "wechat", "weibo")
ACCOUNTS = 450  # the bench's province (a real one: ~6,000 accounts, ~600 sites; see docs/performance.md)
PORTALS = 15
RSS_LIMIT_MIB = 500


# A child's ru_maxrss starts from its parent's high-water mark (this process built big databases):
# GNU time, itself small, measures the crawl process alone.
GNU_TIME = Path("/usr/bin/time")


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [str(BIN / "scrapy"), *args]
    if GNU_TIME.exists():
        report = tempfile.NamedTemporaryFile(prefix="rss-", suffix=".txt", delete=False)  # noqa: SIM115
        report.close()
        cmd = [str(GNU_TIME), "-f", "%M", "-o", report.name, *cmd]
        env = {**env, "_RSS_REPORT": report.name}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc.rss_report = env.get("_RSS_REPORT")  # type: ignore[attr-defined]
    return proc


def _reap(proc: subprocess.Popen[bytes], name: str) -> int:
    """Wait for ``proc``; return its peak RSS in MiB (raise with its log tail if it failed)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = proc.stderr.read().decode(errors="replace")[-3000:] if proc.stderr else ""
        raise RuntimeError(f"{name} exited {proc.returncode}:\n{tail}")
    if proc.stderr:
        proc.stderr.close()
    report = getattr(proc, "rss_report", None)
    if report:
        path = Path(report)
        kib = int(path.read_text().split()[-1])
        path.unlink()
        return kib // 1024
    return int(usage.ru_maxrss // 1024)


def crawl_phase(workers: int, env: dict[str, str]) -> dict[str, Any]:
    """Every spider, one after the other, by one store and ``workers`` workers; the peaks and the time."""
    peaks: dict[str, int] = {"store": 0, "worker": 0}
    started = time.monotonic()
    per_spider: dict[str, float] = {}
    for spider in SPIDERS:
        spider_started = time.monotonic()
        store = _spawn(["store", spider], env)
        crew = [_spawn(["worker", spider], env) for _ in range(workers)]
        for proc in crew:
            peaks["worker"] = max(peaks["worker"], _reap(proc, f"worker {spider}"))
        peaks["store"] = max(peaks["store"], _reap(store, f"store {spider}"))
        per_spider[spider] = round(time.monotonic() - spider_started, 1)
    return {"seconds": time.monotonic() - started, "peak_rss_mib": peaks, "seconds_per_spider": per_spider}


def phase_figures(db_path: Path, first_run: int, seconds: float) -> dict[str, Any]:
    db = open_db(db_path)
    try:
        requests = db.execute(
            "SELECT coalesce(sum(requests), 0) FROM runs WHERE id >= ? AND spider != 'detect'", [first_run]
        ).fetchone()[0]
        per_target = {
            r["platform"]: r["per_target"]
            for r in db.query(
                "SELECT t.platform, round(avg(rt.requests), 1) AS per_target FROM run_targets rt "
                "JOIN targets t ON t.id = rt.target_id WHERE rt.run_id >= ? GROUP BY t.platform",
                [first_run],
            )
        }
        posts = db["posts"].count
        last = int(db.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0])
    finally:
        db.close()
    size = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*"))
    return {
        "wall_seconds": round(seconds, 1),
        "requests": requests,
        "requests_per_target": per_target,
        "pages_per_s": round(requests / seconds, 1),
        "posts_stored": posts,
        "db_size_mib": round(size / 2**20, 1),
        "_next_run": last + 1,
    }


def politeness(base: str, *, reset: bool = False) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/_demo/politeness{'?reset=1' if reset else ''}", timeout=10) as r:
        seen = json.loads(r.read())
    return next(iter(seen.values()), {})


def measure(
    workdir: Path, *, accounts: int = ACCOUNTS, portals: int = PORTALS, workers: tuple[int, ...] = (1, 2)
) -> dict[str, Any]:
    world = province(parse_iso(AS_OF), accounts=accounts, portals=portals)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable, "-m", "demo", "serve", "--port", str(port), "--as-of", AS_OF,
            "--accounts", str(world.accounts), "--posts", str(world.posts),
            "--wechat-extra", str(world.wechat_extra), "--weibo-extra", str(world.weibo_extra),
            "--portal-extra", str(world.portal_extra),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    targets = workdir / "province.yaml"
    targets.write_text(targets_yaml(world, base), encoding="utf-8")
    out: dict[str, Any] = {
        "sizes": {
            "feed_accounts": world.accounts,
            "wechat_accounts": world.wechat_extra,
            "weibo_accounts": world.weibo_extra,
            "portal_sites": world.portal_extra,
            "posts_per_account": world.posts,
        },
        "command": "scrapy store <spider> + N × scrapy worker <spider>, for feed portal wechat weibo",
    }
    try:
        wait_for_port(port, timeout=60)
        with redis_server(workdir) as redis_url:
            for crew in workers:
                db_path = workdir / f"province-{crew}" / "monitor.db"
                db_path.parent.mkdir(parents=True, exist_ok=True)
                env = {
                    **os.environ,
                    "MONITOR_DB": str(db_path),
                    "MONITOR_LOCAL_WORLD": "1",
                    "MONITOR_AS_OF": AS_OF,
                    "MONITOR_LOG_LEVEL": "WARNING",
                    "MONITOR_WECHAT_TOKEN": DEMO_TOKEN,
                    "MONITOR_WECHAT_COOKIE": DEMO_COOKIE,
                    "MONITOR_REDIS_URL": redis_url,
                    "MONITOR_REDIS_PREFIX": f"province{crew}",
                }
                subprocess.run(
                    [str(BIN / "scrapy"), "import-targets", str(targets)],
                    cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                )  # fmt: skip
                figures: dict[str, Any] = {}
                next_run = 1
                for phase in ("first_crawl", "unchanged_recheck"):
                    politeness(base, reset=True)
                    done = crawl_phase(crew, env)
                    row = phase_figures(db_path, next_run, done["seconds"])
                    next_run = row.pop("_next_run")
                    row["peak_rss_mib"] = done["peak_rss_mib"]
                    row["seconds_per_spider"] = done["seconds_per_spider"]
                    row["server_saw"] = politeness(base)
                    figures[phase] = row
                out[f"{crew}_worker" + ("s" if crew > 1 else "")] = figures
                for leftover in db_path.parent.glob("monitor.db*"):
                    leftover.unlink()
    finally:
        server.terminate()
        server.wait(timeout=10)
    peaks = [
        r["peak_rss_mib"]["worker"]
        for k, v in out.items()
        if k.endswith(("worker", "workers"))
        for r in v.values()
    ]
    out["peak_rss_per_worker_mib"] = max(peaks)
    out["rss_target_mib"] = RSS_LIMIT_MIB
    out["rss_target_met"] = max(peaks) <= RSS_LIMIT_MIB
    return out


def run(ctx: Any) -> dict[str, Any]:
    """EXTRA_BENCHES entry: the province under ctx.workdir (removed by bench/run.py at the end)."""
    args = getattr(ctx, "args", None)
    return measure(
        Path(ctx.workdir),
        accounts=getattr(args, "province_accounts", ACCOUNTS) or ACCOUNTS,
        portals=getattr(args, "province_portals", PORTALS) or PORTALS,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.province", description=__doc__)
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--portals", type=int, default=PORTALS)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default: 1 2)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="govmedia-bench-") as work:
        figures = measure(
            Path(work), accounts=args.accounts, portals=args.portals, workers=tuple(args.workers)
        )
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
