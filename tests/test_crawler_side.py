"""The crawler's problems are the crawler's: offline, no browser, no credentials, a killed run.

Each case re-crawls (a copy of) the session's shared crawl with the fault on the crawler's side and
checks that the run records the problem and that NO finding is opened or resolved because of it; the
targets it could not judge keep their verdict (held), with a note saying why.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from db import open_db
from tests.conftest import CREDENTIALS
from tests.helpers import BIN, ROOT, free_port, run_scrapy, scrapy_env


def findings(db_path: Path) -> dict[tuple[int, str, str], tuple[str | None, str]]:
    """(target, rule, subject) -> (resolved_at, last_seen_at) of every finding."""
    db = open_db(db_path)
    try:
        return {
            (r["target_id"], r["rule"], r["subject"]): (r["resolved_at"], r["first_seen_at"])
            for r in db.query("SELECT * FROM findings")
        }
    finally:
        db.close()


def last_run(db_path: Path, spider: str) -> dict[str, Any]:
    db = open_db(db_path)
    try:
        run = next(db.query("SELECT * FROM runs WHERE spider = ? ORDER BY id DESC LIMIT 1", [spider]))
        run["problems"] = {
            r["problem"]: r for r in db.query("SELECT * FROM run_problems WHERE run_id = ?", [run["id"]])
        }
        return run
    finally:
        db.close()


def verdicts(db_path: Path, platform: str) -> dict[str, dict[str, Any]]:
    db = open_db(db_path)
    try:
        return {r["name"]: r for r in db.query("SELECT * FROM target_scores WHERE platform = ?", [platform])}
    finally:
        db.close()


def test_offline_crawler_opens_and_resolves_nothing(crawl_copy: Path) -> None:
    """Every request goes through a proxy that is not there: the machine is as good as offline."""
    before = findings(crawl_copy)
    portals_before = verdicts(crawl_copy, "portal")
    dead = f"http://127.0.0.1:{free_port()}"
    offline = {"http_proxy": dead, "https_proxy": dead, "HTTP_PROXY": dead, "no_proxy": "", "NO_PROXY": ""}
    for spider in ("probe", "portal", "feed"):
        run_scrapy("crawl", spider, db_path=crawl_copy, **offline)
        run = last_run(crawl_copy, spider)
        assert run["trusted"] == 0, run
        assert run["problems"]["offline"]["blocks_trust"] == 1
    assert findings(crawl_copy) == before  # nothing opened, nothing resolved
    after = verdicts(crawl_copy, "portal")
    assert {n: v["verdict"] for n, v in after.items()} == {n: v["verdict"] for n, v in portals_before.items()}
    assert all(v["held"] == 1 and "offline" in v["note"] for v in after.values())
    # the healthy portal is still 合格: one failed probe of the crawler's own is no 站点无法访问
    assert after["临江市人民政府门户网站"]["verdict"] == "合格"


def test_a_dead_canary_marks_the_run_offline(crawl_copy: Path) -> None:
    before = findings(crawl_copy)
    canary = f"http://127.0.0.1:{free_port()}/"
    run_scrapy("crawl", "feed", "-s", f"MONITOR_CANARY_URLS={canary}", db_path=crawl_copy)
    run = last_run(crawl_copy, "feed")
    assert (run["trusted"], set(run["problems"])) == (0, {"offline"})
    assert "canary" in run["problems"]["offline"]["detail"]
    db = open_db(crawl_copy)
    health = next(db.query("SELECT * FROM run_health WHERE run_id = ?", [run["id"]]))
    db.close()
    assert (health["health"], health["monitors_failed"]) == ("failed", "reachability")
    assert findings(crawl_copy) == before


@pytest.mark.browser  # reads the JavaScript-only pages of the shared crawl
def test_missing_browser_is_the_crawlers_problem(crawl_copy: Path) -> None:
    before = findings(crawl_copy)
    wechat_before = verdicts(crawl_copy, "wechat")
    run_scrapy("crawl", "wechat", db_path=crawl_copy, MONITOR_CHROMIUM="/nonexistent/chromium", **CREDENTIALS)
    run = last_run(crawl_copy, "wechat")
    assert run["trusted"] == 1  # only the pages that need a browser are affected
    assert "not found" in run["problems"]["no_browser"]["detail"]
    assert findings(crawl_copy) == before
    db = open_db(crawl_copy)
    js = next(db.query("SELECT * FROM targets WHERE render = 'js' AND platform = 'wechat'"))
    outcome = db.execute(
        "SELECT outcome FROM checks WHERE target_id = ? AND run_id = ?", [js["id"], run["id"]]
    ).fetchone()[0]
    db.close()
    assert outcome == "no_browser"
    after = verdicts(crawl_copy, "wechat")[js["name"]]
    assert after["verdict"] == wechat_before[js["name"]]["verdict"] == "合格"
    assert after["held"] == 1
    assert "no_browser" in after["note"]


def test_missing_credentials_are_the_crawlers_problem(crawl_copy: Path) -> None:
    before = findings(crawl_copy)
    wechat_before = verdicts(crawl_copy, "wechat")
    run_scrapy("crawl", "wechat", db_path=crawl_copy, MONITOR_WECHAT_TOKEN="", MONITOR_WECHAT_COOKIE="")
    run = last_run(crawl_copy, "wechat")
    assert "MONITOR_WECHAT_TOKEN" in run["problems"]["no_credentials"]["detail"]
    assert findings(crawl_copy) == before  # the stale and closed MP accounts keep their findings
    after = verdicts(crawl_copy, "wechat")
    held = {n for n, v in after.items() if v["held"]}
    assert held  # the MP-mode accounts
    assert {n: after[n]["verdict"] for n in held} == {n: wechat_before[n]["verdict"] for n in held}


def test_a_killed_run_is_aborted_and_resolves_nothing(crawl_copy: Path) -> None:
    """kill -9 in the middle of a portal crawl; the next start marks it aborted, and detection does not
    resolve the dead links its partial link checks did not reach."""
    before = findings(crawl_copy)
    dead_links = {
        k for k, (resolved, _) in before.items() if k[1].startswith("portal.dead_link") and not resolved
    }
    assert dead_links
    previous = last_run(crawl_copy, "portal")["id"]
    env = scrapy_env(crawl_copy, MONITOR_DETECT_ON_CLOSE="0")
    proc = subprocess.Popen(
        [
            str(BIN / "scrapy"),
            "crawl",
            "portal",
            "-s",
            "MONITOR_STORE_BATCH=1",
            "-s",
            "CONCURRENT_REQUESTS=1",
            "-s",
            "DOWNLOAD_DELAY=0.05",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db = open_db(crawl_copy)
            n = db.execute(
                "SELECT count(*) FROM checks WHERE kind = 'link' AND run_id > ?", [previous]
            ).fetchone()[0]
            db.close()
            if n >= 5:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the crawl ended before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    killed = last_run(crawl_copy, "portal")
    assert killed["id"] > previous
    assert killed["status"] == "running"  # nobody has looked yet
    run_scrapy("detect", db_path=crawl_copy)
    killed = last_run(crawl_copy, "portal")
    assert (killed["status"], killed["trusted"]) == ("aborted", 0)
    assert "aborted" in killed["problems"]
    after = findings(crawl_copy)
    assert {k for k in dead_links if after[k][0] is not None} == set()  # no dead link resolved
    assert set(after) == set(before)  # and nothing new opened from the partial data
