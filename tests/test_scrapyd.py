"""Deployment as Scrapy users deploy: `scrapyd-deploy` uploads the egg to a real Scrapyd, a crawl is
scheduled through its HTTP API (schedule.json), and its results land in the database."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from demo.run import wait_for_port
from tests.conftest import Crawl
from tests.helpers import AS_OF, BIN, ROOT, free_port, run_scrapy, scrapy_env

PROJECT = "govmedia_monitor"
IGNORED = (".venv", ".git", "data", "tests", "bench", "demo", "build", "*.egg-info", "__pycache__", ".*cache")


def api(base: str, endpoint: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    with urllib.request.urlopen(f"{base}/{endpoint}", data=body, timeout=30) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def test_a_crawl_scheduled_through_scrapyd_lands_in_the_database(world_crawl: Crawl, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db_path = tmp_path / "monitor.db"
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=db_path)

    # the project as a user's checkout, its scrapy.cfg pointing [deploy:test] at this Scrapyd
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*IGNORED))
    cfg = (project / "scrapy.cfg").read_text(encoding="utf-8")
    (project / "scrapy.cfg").write_text(cfg + f"\n[deploy:test]\nurl = {base}/\nproject = {PROJECT}\n")
    home = tmp_path / "scrapyd"
    home.mkdir()
    (home / "scrapyd.conf").write_text(
        f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\npoll_interval = 0.2\nmax_proc = 1\n"
        f"eggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\ndbs_dir = {home / 'dbs'}\nitems_dir =\n"
    )
    env = scrapy_env(db_path, MONITOR_DETECT_ON_CLOSE="1")
    server = subprocess.Popen(
        [str(BIN / "scrapyd")], cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, timeout=30)
        deploy = subprocess.run(
            [str(BIN / "scrapyd-deploy"), "test"], cwd=project, env=env, capture_output=True, text=True
        )
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        assert "feed" in api(base, f"listspiders.json?project={PROJECT}")["spiders"]
        job = api(
            base,
            "schedule.json",
            {
                "project": PROJECT,
                "spider": "feed",
                "setting": [f"MONITOR_DB={db_path}", f"MONITOR_AS_OF={AS_OF}"],
            },
        )
        assert job["status"] == "ok", job
        deadline = time.monotonic() + 120
        while not any(
            j["id"] == job["jobid"] for j in api(base, f"listjobs.json?project={PROJECT}")["finished"]
        ):
            assert time.monotonic() < deadline, "the Scrapyd job did not finish"
            time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=10)
    logs = list((home / "logs").rglob("*.log"))
    log = logs[0].read_text(encoding="utf-8") if logs else ""
    with sqlite3.connect(db_path) as conn:
        run = conn.execute("SELECT spider, status, finish_reason FROM runs WHERE spider = 'feed'").fetchone()
        posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        expected = (
            sqlite3.connect(world_crawl.db_path)
            .execute(
                "SELECT count(*) FROM posts p JOIN targets t ON t.id = p.target_id WHERE t.platform = 'feed'"
            )
            .fetchone()[0]
        )
    assert run == ("feed", "finished", "finished"), log[-3000:]
    assert posts >= expected > 0, log[-3000:]
