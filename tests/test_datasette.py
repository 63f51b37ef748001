"""Real Datasette over a crawled database, queried through its HTTP JSON API."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.serve import datasette_command
from demo.run import wait_for_port
from tests.helpers import ROOT, DemoWorld, free_port, run_scrapy


def get_json(base: str, path: str, **params: str) -> object:
    url = f"{base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture
def datasette(demo_world: DemoWorld, db_path: Path) -> Iterator[str]:
    run_scrapy("import-targets", str(demo_world.targets_file), db_path=db_path)
    run_scrapy("crawl", "feed", db_path=db_path)
    port = free_port()
    proc = subprocess.Popen(
        datasette_command(db_path, port=port),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_browse_and_query(datasette: str, demo_world: DemoWorld) -> None:
    meta = get_json(datasette, "/-/metadata.json")
    assert meta["databases"]["monitor"]["tables"]["posts"]["title"] == "发文 · posts"

    targets = get_json(datasette, "/monitor/targets.json", _shape="array", platform="feed")
    assert len(targets) == len(demo_world.world.feed_accounts)

    rows = get_json(
        datasette,
        "/monitor.json",
        _shape="array",
        sql="SELECT t.name, count(p.id) AS n FROM targets t JOIN posts p ON p.target_id = t.id "
        "GROUP BY t.id ORDER BY n DESC, t.name LIMIT 3",
    )
    assert rows[0]["n"] == 30

    checks = get_json(datasette, "/monitor/checks.json", _shape="array", outcome="not_found")
    assert [c["url"].rsplit("/", 1)[1] for c in checks] == ["hekou-wenlv.xml"]

    found = get_json(datasette, "/monitor/posts.json", _shape="array", _search="停止发布信息")
    assert len(found) == 1
    assert "关停注销" in found[0]["title"]


def test_read_only(datasette: str) -> None:
    req = urllib.request.Request(
        f"{datasette}/monitor.json?" + urllib.parse.urlencode({"sql": "DELETE FROM posts", "_shape": "array"})
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 400
    time.sleep(0)  # nothing else to wait for: the query was refused, not queued
