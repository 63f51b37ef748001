"""The desk at scale: every canned query and every dashboard chart query, timed over HTTP.

Builds the big database (bench/bigdb.py: 10,000 accounts × 100 posts = 1,000,000 posts, 100,000
findings) plus portal rows at provincial scale (1,000 sites: 30,000 columns, 50,000 messages, 100,000
link checks), starts real Datasette with the project's metadata, and times each query REPEAT times.

Registered in bench/run.py EXTRA_BENCHES (`make bench`); alone: `python -m bench.datasette [--db PATH]`
(the database is reused when PATH exists).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.bigdb import AS_OF, build_big_db
from core.clock import iso, parse_iso
from db import open_db
from db.serve import build_metadata, datasette_command
from demo.run import wait_for_port
from demo.world import REGIONS
from tests.helpers import free_port

REPEAT = 7
SEARCH = "文明城市创建"  # in ~6 % of the generated posts: a broad search
PORTALS = 1_000
KINDS = ("动态要闻", "通知公告", "政策文件", "人事", "规划计划", "互动", "服务", "其他")


def add_portal_scale(path: Path, *, portals: int = PORTALS, seed: int = 11) -> None:
    """Portal targets with columns, messages and link checks, shaped like the m010 contract."""
    rng = random.Random(seed)
    now = parse_iso(AS_OF)
    db = open_db(path)
    first = int(next(db.query("SELECT coalesce(max(id), 0) + 1 AS n FROM targets"))["n"])
    targets, sites, columns, messages, checks = [], [], [], [], []
    for i in range(portals):
        tid = first + i
        code, region, level, _ = REGIONS[i % len(REGIONS)]
        home = f"http://portal-{i}.bench.invalid/"
        targets.append(
            {
                "id": tid,
                "platform": "portal",
                "key": home,
                "name": f"网站{i}",
                "url": home,
                "region_code": code,
                "region_name": region,
                "level": level,
                "active": 1,
                "tags": '["bench"]',
                "options": "{}",
            }
        )
        sites.append({"target_id": tid, "homepage_url": home, "final_url": home, "checked_at": AS_OF})
        for c in range(30):
            blank = rng.random() < 0.05
            newest = None if blank else iso(now - timedelta(days=rng.expovariate(1 / 40)))
            columns.append(
                {
                    "target_id": tid,
                    "url": f"{home}col{c}/",
                    "name": f"栏目{c}",
                    "kind": KINDS[c % len(KINDS)],
                    "status": "blank" if blank else "ok",
                    "item_count": 0 if blank else 20,
                    "newest_item_at": newest,
                    "checked_at": AS_OF,
                }
            )
        for m in range(50):
            asked = now - timedelta(days=rng.uniform(1, 500))
            answered = None if rng.random() < 0.1 else iso(asked + timedelta(days=rng.uniform(1, 20)))
            messages.append(
                {
                    "target_id": tid,
                    "board_url": f"{home}hudong/",
                    "board_kind": "consultation" if m % 5 else "petition",
                    "message_id": f"{i}-{m}",
                    "title": f"咨询{m}",
                    "asked_at": iso(asked),
                    "answered_at": answered,
                }
            )
        for link in range(100):
            dead = rng.random() < 0.03
            checks.append(
                {
                    "target_id": tid,
                    "kind": "link",
                    "url": f"{home}page{link}.html",
                    "found_on": home if link < 20 else f"{home}col{link % 30}/",
                    "http_status": 404 if dead else 200,
                    "outcome": "not_found" if dead else "ok",
                    "ok": 0 if dead else 1,
                    "checked_at": iso(now - timedelta(hours=link % 24)),
                }
            )
    db.table("targets").insert_all(targets)
    db.table("sites").insert_all(sites)
    db.table("columns").insert_all(columns, batch_size=5000)
    db.table("messages").insert_all(messages, batch_size=5000)
    db.table("checks").insert_all(checks, batch_size=5000)
    # two detection runs so "what changed since the last run" has work to do: 2 % of the findings are
    # new in the latest run, and the findings resolved in the last 30 days were resolved by it
    run1 = db.table("runs").insert({"spider": "detect", "started_at": AS_OF, "as_of": AS_OF}).last_pk
    run2 = db.table("runs").insert({"spider": "detect", "started_at": AS_OF, "as_of": AS_OF}).last_pk
    with db.conn:
        db.execute("UPDATE findings SET first_run_id = ?, last_run_id = ?", [run1, run2])
        db.execute("UPDATE findings SET first_run_id = ? WHERE id % 50 = 0", [run2])
    db.execute("ANALYZE")
    db.close()


def add_account_checks(path: Path) -> None:
    """One successful feed/API check per account: the desk counts a never-checked account as unavailable,
    so without checks the stale/zombie queries would answer (fast) over no accounts at all."""
    db = open_db(path)
    with db.conn:
        db.execute(
            "INSERT INTO checks (target_id, kind, url, outcome, ok, checked_at) "
            "SELECT id, CASE platform WHEN 'feed' THEN 'feed' ELSE 'api' END, coalesce(feed_url, url, ''), "
            "'ok', 1, ? FROM targets WHERE platform != 'portal'",
            [AS_OF],
        )
    db.execute("ANALYZE")
    db.close()


def build(path: Path) -> float:
    started = time.monotonic()
    build_big_db(path)
    add_account_checks(path)
    add_portal_scale(path)
    return time.monotonic() - started


def _get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp:
        body = resp.read()
    elapsed = (time.perf_counter() - started) * 1000
    data = json.loads(body)
    rows = data if isinstance(data, list) else data.get("rows", [])
    return elapsed, len(rows)


def _time(url: str) -> dict[str, Any]:
    _get(url)  # warm the page cache once, as a served desk would be
    samples, rows = [], 0
    for _ in range(REPEAT):
        ms, rows = _get(url)
        samples.append(ms)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1), "rows": rows}


def _time_page(url: str) -> dict[str, Any]:
    samples = []
    for _ in range(REPEAT + 1):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as resp:
            resp.read()
        samples.append((time.perf_counter() - started) * 1000)
    samples = samples[1:]
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def chart_sql(query: str, options: dict[str, str]) -> str:
    """What the dashboard's script sends: each [[ … ]] block kept when its filter is set, else dropped."""

    def keep(m: re.Match[str]) -> str:
        return m.group(1) if any(f":{k}" in m.group(1) for k in options) else ""

    return re.sub(r"\[\[(.*?)\]\]", keep, query)


def measure(db_path: Path) -> dict[str, Any]:
    meta = build_metadata()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        datasette_command(db_path, port=port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    out: dict[str, Any] = {"canned_queries": {}, "dashboard_charts": {}}
    try:
        wait_for_port(port, timeout=60)
        for name, q in meta["databases"]["monitor"]["queries"].items():
            params = {"_shape": "array"}
            if "as_of" in q.get("params", []):
                params["as_of"] = AS_OF
            if name == "search_posts":
                params["q"] = SEARCH
            out["canned_queries"][name] = _time(
                f"{base}/monitor/{name}.json?{urllib.parse.urlencode(params)}"
            )
        charts = meta["plugins"]["datasette-dashboards"]["desk"]["charts"]
        for slug, chart in charts.items():
            for label, opts in (("", {}), (" region=临江市", {"region": "临江市"})):
                sql = chart_sql(chart["query"], opts)
                params = {"sql": sql, "_shape": "objects", "as_of": AS_OF, **opts}
                out["dashboard_charts"][slug + label] = _time(
                    f"{base}/monitor.json?{urllib.parse.urlencode(params)}"
                )
        # pages (HTML, informational): the dashboard shell and the faceted open-findings table
        out["pages"] = {
            "dashboard_html": _time_page(f"{base}/-/dashboards/desk"),
            "open_findings_with_facets_html": _time_page(f"{base}/monitor/open_findings"),
        }
        timings = [v for group in ("canned_queries", "dashboard_charts") for v in out[group].values()]
        out["slowest_median_ms"] = max(t["median_ms"] for t in timings)
        out["slowest_max_ms"] = max(t["max_ms"] for t in timings)
        out["all_under_300ms"] = out["slowest_max_ms"] < 300
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return out


def run(ctx: Any) -> dict[str, Any]:
    """EXTRA_BENCHES entry: build the big database under ctx.workdir and time the desk over it."""
    path = Path(ctx.workdir) / "desk" / "monitor.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    seconds = build(path)
    result = measure(path)
    db = open_db(path)
    result["database"] = {
        "posts": db.table("posts").count,
        "findings": db.table("findings").count,
        "targets": db.table("targets").count,
        "columns": db.table("columns").count,
        "messages": db.table("messages").count,
        "checks": db.table("checks").count,
        "build_seconds": round(seconds, 1),
        "size_mib": round(path.stat().st_size / 2**20, 1),
    }
    db.close()
    # kept for bench/detection.py (the same 1,000,000 posts); bench/run.py removes the folder at the end
    result["command"] = "python -m bench.run --only datasette (or python -m bench.datasette)"
    result["repeat"] = REPEAT
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.datasette", description=__doc__)
    parser.add_argument(
        "--db", default="data/bench/desk/monitor.db", help="any file name (served as /monitor)"
    )
    args = parser.parse_args(argv)
    path = Path(args.db)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"building {path} …", flush=True)
        print(f"built in {build(path):.0f}s", flush=True)
    open_db(path).close()  # bring it to the current schema
    print(json.dumps(measure(path), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
