"""Real Datasette over a crawled database, queried through its HTTP JSON API."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from db import open_db
from db.serve import datasette_command
from demo.run import wait_for_port
from tests.conftest import Crawl
from tests.helpers import ROOT, free_port


def get_json(base: str, path: str, **params: str) -> object:
    url = f"{base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def datasette(world_crawl: Crawl) -> Iterator[str]:
    """Real Datasette over the session's shared crawl."""
    db_path = world_crawl.db_path
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


def test_browse_and_query(datasette: str, world_crawl: Crawl) -> None:
    meta = get_json(datasette, "/-/metadata.json")
    assert meta["databases"]["monitor"]["tables"]["posts"]["title"] == "发文 · posts"

    targets = get_json(datasette, "/monitor/targets.json", _shape="array", platform="feed")
    assert len(targets) == len(world_crawl.world.world.feed_accounts)

    sql = (
        "SELECT t.name, t.platform, count(p.id) AS n FROM targets t JOIN posts p ON p.target_id = t.id "
        "GROUP BY t.id ORDER BY n DESC, t.name, t.platform LIMIT 3"
    )
    rows = get_json(datasette, "/monitor.json", _shape="array", sql=sql)
    db = open_db(world_crawl.db_path)
    assert rows == [dict(r) for r in db.query(sql)]
    db.close()

    checks = get_json(datasette, "/monitor/checks.json", _shape="array", outcome="not_found", kind="feed")
    assert [c["url"].rsplit("/", 1)[1] for c in checks] == ["hekou-wenlv.xml"]

    found = get_json(
        datasette, "/monitor/posts.json", _shape="array", _search="停止发布信息", platform="feed"
    )
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
