"""Fixtures: the demo world, and ONE crawl of it shared by the whole session.

``world_crawl`` is what cron does once: `scrapy import-targets`, then `scrapy crawl` feed, portal,
wechat and weibo as subprocesses (detection on each spider's close), then `scrapy detect` over
everything (a successor crawled after its predecessor is judged alive). Tests that only read it use its
database directly; a test that writes takes ``crawl_copy`` (a private copy of the file). ``world_round2``
is the same world a week later — the stale feed account posts again and a new account with a dead feed
is registered — crawled once more by the feed spider into a copy; the world is restored afterwards, so
every other test still sees it as planted.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.clock import parse_iso
from core.config import SYSTEM_CHROMIUM, browser_problem, find_chromium
from db.evidence import evidence_dir
from demo import feeds, portal, wechat, weibo
from demo.http import serve_in_thread
from demo.server import build_server, targets_yaml
from demo.wechat import DEMO_COOKIE, DEMO_TOKEN
from demo.world import World
from tests.helpers import AS_OF, DemoWorld, free_port, run_scrapy

SPIDERS = ("feed", "portal", "wechat", "weibo")
CREDENTIALS = {"MONITOR_WECHAT_TOKEN": DEMO_TOKEN, "MONITOR_WECHAT_COOKIE": DEMO_COOKIE}
# The shared crawl keeps evidence like a real one: each veto/deduction finding's pages, when it opens.
EVIDENCE = {"MONITOR_EVIDENCE": "1"}
MODULES = {"feed": feeds, "portal": portal, "wechat": wechat, "weibo": weibo}
# A post that tries to run script wherever it is shown; it must only ever appear as text.
XSS_TITLE = "<script>window.__pwned=1</script>防汛救灾工作简报"
XSS_BODY = (
    "正文含有脚本 <script>window.__pwned=1</script> 和图片 <img src=x onerror=window.__pwned=1> 的测试文字"
)
RESUMED_SLUG = "qingshan-jiaoyu"  # the planted stale feed account that posts again in round 2
NEW_TARGET: dict[str, Any] = {  # registered in round 2; its feed answers 404
    "platform": "feed",
    "name": "临江应急",
    "org": "临江市应急管理局",
    "region_code": "990100",
    "region_name": "临江市",
    "level": "市级",
    "tags": ["demo", "round2"],
}


def start_world(tmp: Path, **world_kwargs: object) -> tuple[DemoWorld, object]:
    world = World(as_of=parse_iso(AS_OF), **world_kwargs)  # type: ignore[arg-type]
    port = free_port()
    server = build_server(world, "127.0.0.1", port)
    serve_in_thread(server)
    base = f"http://127.0.0.1:{port}"
    targets = tmp / "demo-targets.yaml"
    targets.write_text(targets_yaml(world, base), encoding="utf-8")
    return DemoWorld(base, port, world, targets), server


def stop(server: object) -> None:
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]


def copy_db(src: Path, dest: Path) -> Path:
    """A consistent copy of a SQLite file (the backup API: WAL content included), with the evidence
    folder beside it (the captures its evidence rows point at)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dest) as b:
        a.backup(b)
    if evidence_dir(src).is_dir() and not evidence_dir(dest).exists():
        shutil.copytree(evidence_dir(src), evidence_dir(dest))
    return dest


@dataclass
class Crawl:
    world: DemoWorld
    db_path: Path
    planted: dict[str, list[dict[str, Any]]]  # platform -> the module's planted()
    # (target name, platform, rule, subject) of every finding the modules planted (expected_findings)
    expected: set[tuple[str, str, str, str]]


@dataclass
class Round2(Crawl):
    round1_planted: dict[str, list[dict[str, Any]]]
    new_target: str


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a Chromium the browser tests are skipped, saying why; everything else still runs."""
    problem = browser_problem(find_chromium() or os.environ.get("MONITOR_CHROMIUM") or SYSTEM_CHROMIUM[0])
    if problem is None:
        return
    skip = pytest.mark.skip(reason=f"no browser: {problem}")
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(skip)


@pytest.fixture
def demo_world(tmp_path: Path) -> Iterator[DemoWorld]:
    """A world of the test's own, for tests that change it while others read theirs."""
    dw, server = start_world(tmp_path)
    yield dw
    stop(server)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "monitor.db"


@pytest.fixture(scope="session")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWorld]:
    dw, server = start_world(tmp_path_factory.mktemp("shared-world"))
    dw.world.add_post("linjiang-fabu", XSS_TITLE, XSS_BODY)
    yield dw
    stop(server)


@pytest.fixture(scope="session")
def world_crawl(shared_world: DemoWorld, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    db_path = tmp_path_factory.mktemp("world-crawl") / "monitor.db"
    run_scrapy("import-targets", str(shared_world.targets_file), db_path=db_path)
    for spider in SPIDERS:
        run_scrapy("crawl", spider, db_path=db_path, **CREDENTIALS, **EVIDENCE)
    run_scrapy("detect", db_path=db_path, **EVIDENCE)
    planted = {p: m.planted(shared_world.world, shared_world.base) for p, m in MODULES.items()}
    expected: set[tuple[str, str, str, str]] = set()
    for module in MODULES.values():
        expected |= module.expected_findings(shared_world.world, shared_world.base)
    return Crawl(shared_world, db_path, planted, expected)


@pytest.fixture
def crawl_copy(world_crawl: Crawl, tmp_path: Path) -> Path:
    """A private copy of the shared crawl's database, for a test that writes to it."""
    return copy_db(world_crawl.db_path, tmp_path / "monitor.db")


@pytest.fixture(scope="session")
def world_round2(world_crawl: Crawl, tmp_path_factory: pytest.TempPathFactory) -> Round2:
    tmp = tmp_path_factory.mktemp("world-round2")
    db_path = copy_db(world_crawl.db_path, tmp / "monitor.db")
    dw = world_crawl.world
    with dw.world.changed() as world:
        world.add_post(RESUMED_SLUG, "恢复更新：本周教育工作动态", "青山区教育局本周工作动态。")
        extra = tmp / "round2-targets.yaml"
        new = {**NEW_TARGET, "feed": f"{dw.base}/feeds/linjiang-yingji.xml"}
        extra.write_text(yaml.safe_dump({"targets": [new]}, allow_unicode=True), encoding="utf-8")
        run_scrapy("import-targets", str(extra), db_path=db_path)
        run_scrapy("crawl", "feed", db_path=db_path, **CREDENTIALS, **EVIDENCE)
        planted = {p: m.planted(world, dw.base) for p, m in MODULES.items()}
    # Round 2 re-crawls only the feed: the account that posted again is no longer stale there, and the
    # new account's feed is gone.
    expected = {k for k in world_crawl.expected if k[:3] != ("青山教育", "feed", "account.no_update_14d")}
    expected |= {
        (str(NEW_TARGET["name"]), "feed", "account.unavailable", ""),
        ("青山教育", "feed", "account.update_gaps", ""),
    }
    return Round2(dw, db_path, planted, expected, world_crawl.planted, str(NEW_TARGET["name"]))
