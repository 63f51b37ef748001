"""Four spiders and `scrapy detect` started together on one file, with Datasette reading it meanwhile:
every process exits 0 and every row is accounted for — the same posts, checks per spider run and open
findings as the session's crawl that ran them one after another (conftest.world_crawl)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from demo.run import wait_for_port
from tests.conftest import CREDENTIALS, SPIDERS, Crawl
from tests.helpers import BIN, ROOT, free_port, run_scrapy, scrapy_env


def accounted(db_path: Path) -> dict[str, Any]:
    """What a crawl leaves, in terms that do not depend on ids or timing."""
    with sqlite3.connect(db_path) as conn:

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return sorted(conn.execute(sql).fetchall())

        return {
            "posts": rows(
                "SELECT t.platform, t.name, p.post_id, p.published_at FROM posts p "
                "JOIN targets t ON t.id = p.target_id"
            ),
            "checks per run": rows(
                "SELECT r.spider, count(c.id) FROM runs r LEFT JOIN checks c ON c.run_id = r.id "
                "WHERE r.spider != 'detect' GROUP BY r.id"
            ),
            "checks": rows(
                "SELECT t.name, c.kind, c.outcome, count(*) FROM checks c "
                "JOIN targets t ON t.id = c.target_id GROUP BY 1, 2, 3"
            ),
            "findings": rows(
                "SELECT t.name, t.platform, f.rule, f.subject FROM findings f "
                "JOIN targets t ON t.id = f.target_id WHERE f.resolved_at IS NULL"
            ),
            "column rows": rows("SELECT count(*) FROM column_items"),
            "messages": rows("SELECT target_id, message_id FROM messages"),
            "sites": rows("SELECT target_id, site_id_code, homepage_items FROM sites"),
        }


def test_spiders_detect_and_datasette_at_once_account_for_every_row(
    world_crawl: Crawl, tmp_path: Path
) -> None:
    db_path = tmp_path / "monitor.db"
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=db_path)
    port = free_port()
    datasette = subprocess.Popen(
        [str(BIN / "datasette"), "serve", str(db_path), "--port", str(port), "--host", "127.0.0.1"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = scrapy_env(db_path, **CREDENTIALS)
    try:
        wait_for_port(port)
        procs = [
            subprocess.Popen(
                [str(BIN / "scrapy"), *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for args in [("crawl", s) for s in SPIDERS] + [("detect",)]
        ]
        reads = 0
        while any(p.poll() is None for p in procs):
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/monitor/checks.json?_size=1", timeout=10
            ) as resp:
                reads += resp.status == 200 and "rows" in json.loads(resp.read())
            time.sleep(0.5)
        for proc in procs:
            out, _ = proc.communicate()
            assert proc.returncode == 0, out.decode(errors="replace")[-3000:]
        assert reads > 0  # Datasette kept answering while they wrote
    finally:
        datasette.terminate()
        datasette.wait(timeout=10)
    run_scrapy("detect", db_path=db_path)
    together, one_by_one = accounted(db_path), accounted(world_crawl.db_path)
    for key in one_by_one:
        assert together[key] == one_by_one[key], key
