"""Running it every day: one crawlall at a time, a readable run, loud mistakes, commands from any folder."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from db import open_db
from tests.conftest import CREDENTIALS
from tests.helpers import BIN, ROOT, free_port, run_scrapy, scrapy_env


def runs(db_path: Path) -> list[tuple[int, str]]:
    db = open_db(db_path)
    try:
        return [(r["id"], r["spider"]) for r in db.query("SELECT id, spider FROM runs ORDER BY id")]
    finally:
        db.close()


def test_crawlall_never_runs_twice(crawl_copy: Path) -> None:
    """Two started together: the first runs the whole sequence, the second says so and exits 75."""
    before = runs(crawl_copy)
    env = scrapy_env(crawl_copy, MONITOR_PROGRESS_S="0.2", **CREDENTIALS)
    first = subprocess.Popen(
        [str(BIN / "scrapy"), "crawlall", "--spiders", "feed,weibo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = first.stdout.readline() if first.stdout else ""
        assert started.startswith("crawlall: feed, weibo on ")  # printed once the lock is held
        second = run_scrapy("crawlall", "--spiders", "feed", db_path=crawl_copy, check=False)
        out, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 75, second.stderr
    assert f"another crawlall (pid {first.pid}) is running" in second.stderr
    assert "not starting a second one" in second.stderr
    assert first.returncode == 0, err
    new = [spider for _, spider in runs(crawl_copy)[len(before) :]]
    assert new == ["feed", "weibo", "detect"]  # one sequence, nothing from the second start
    # a run you can read: progress per spider, one summary for the whole sequence, no stats dump
    assert "feed: 15/15 targets" in err
    assert "weibo: 8/8 targets" in err
    assert out.count("运行摘要 run summary") == 1
    assert "feed (run" in out
    assert "weibo (run" in out
    assert "健康 health    ok: 14 monitors passed over 2 run(s)" in out
    for chatter in ("Dumping Scrapy stats", "Overridden settings", "Enabled downloader middlewares"):
        assert chatter not in err


def test_a_single_crawl_prints_its_summary(crawl_copy: Path) -> None:
    proc = run_scrapy("crawl", "feed", db_path=crawl_copy)
    summary = proc.stdout.splitlines()
    assert summary[0].startswith("运行摘要 run summary · feed (run ")
    assert summary[1].startswith("  目标 targets   15 checked · ")
    assert summary[2].startswith("  问题 findings  new ")
    assert summary[3].startswith("  健康 health    ok: 7 monitors passed")
    assert "Dumping Scrapy stats" not in proc.stderr
    debug = run_scrapy("crawl", "feed", db_path=crawl_copy, MONITOR_LOG_LEVEL="DEBUG")
    assert "Dumping Scrapy stats" in debug.stderr  # the stats dump is there at DEBUG


def test_mistakes_are_loud(tmp_path: Path, crawl_copy: Path) -> None:
    typo = tmp_path / "typo.db"
    proc = run_scrapy("detect", "--db", str(typo), db_path=crawl_copy, check=False)
    assert proc.returncode != 0
    assert f"no database at {typo}" in proc.stderr
    assert not typo.exists()  # and no empty database made by the typo
    proc = run_scrapy("detect", "--target", "999", db_path=crawl_copy, check=False)
    assert proc.returncode != 0
    assert "no target 999" in proc.stderr
    proc = run_scrapy("crawl", "feed", "-a", "targets=999", db_path=crawl_copy, check=False)
    assert proc.returncode != 0
    assert "no target 999" in proc.stderr
    empty = tmp_path / "empty.db"
    open_db(empty).close()
    for args in (("crawl", "feed"), ("crawlall",), ("detect",)):
        proc = run_scrapy(*args, db_path=empty, check=False)
        assert proc.returncode != 0, args
        assert f"no active targets in {empty}" in proc.stderr, args
    proc = run_scrapy("crawl", "feed", db_path=typo, check=False)
    assert proc.returncode != 0
    assert not typo.exists()


def test_a_redis_that_does_not_answer_is_said_at_once(tmp_path: Path, crawl_copy: Path) -> None:
    """Pointed at no Redis (nothing listening, or no URL at all), `scrapy store` / `scrapy worker` and
    Scrapyd's form of them (`scrapy crawl` with MONITOR_ROLE) stop at once and say where they looked,
    without the password; the minute of retries is for a Redis that goes away mid-crawl."""
    port = free_port()
    url = f"redis://monitor:s3cret@127.0.0.1:{port}/0"
    said = f"cannot reach Redis at redis://127.0.0.1:{port}/0"
    for args in (("store", "feed"), ("worker", "feed")):
        started = time.monotonic()
        proc = run_scrapy(*args, db_path=tmp_path / "m.db", check=False, MONITOR_REDIS_URL=url)
        assert proc.returncode != 0, args
        assert said in proc.stderr, proc.stderr[-2000:]
        assert "s3cret" not in proc.stderr + proc.stdout
        assert time.monotonic() - started < 30
    for role in ("store", "worker"):
        started = time.monotonic()
        proc = run_scrapy(
            "crawl", "feed", db_path=crawl_copy, check=False, MONITOR_REDIS_URL=url, MONITOR_ROLE=role
        )
        assert said in proc.stderr, proc.stderr[-2000:]
        assert "s3cret" not in proc.stderr + proc.stdout
        assert time.monotonic() - started < 30
    with sqlite3.connect(crawl_copy) as conn:
        last = conn.execute("SELECT finish_reason FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert last == "redis_unreachable"  # the store's run, ended before it seeded anything
    proc = run_scrapy("store", "feed", db_path=tmp_path / "m.db", check=False, MONITOR_REDIS_URL="")
    assert proc.returncode != 0
    assert "set MONITOR_REDIS_URL" in proc.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_import_needs_targets() -> None:
    venv = Path(sys.prefix)
    proc = subprocess.run(
        ["make", "-s", "-o", str(venv / ".installed"), "import", f"VENV={venv}", "DB=/nonexistent/x.db"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "make import needs TARGETS=FILE" in proc.stderr


def test_installed_commands_work_from_any_folder(tmp_path: Path) -> None:
    """Install the product packages (as pip would from a release) and run `govmedia` elsewhere."""
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    keep = ("core/", "db/", "detection/", "evidence/", "spiders/", "pipelines/", "crawler/", "alerts/")
    for name in files.split():
        if name in ("pyproject.toml", "README.md") or name.startswith(keep):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    site = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if pip.returncode != 0:
        pytest.skip(f"pip could not build the project here: {pip.stderr[-300:]}")
    assert (site / "detection" / "rules" / "indicators.yaml").exists()
    assert (site / "db" / "metadata" / "40-desk.yml").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(site),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(tmp_path),
    }

    def govmedia(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(site / "bin" / "govmedia"), *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    for command in ("detect", "crawlall"):
        help_ = govmedia(command, "--help")
        assert help_.returncode == 0, help_.stderr
        assert "Example:" in help_.stdout
    listed = govmedia("list")
    assert set(listed.stdout.split()) >= {"feed", "portal", "wechat", "weibo"}
    missing = govmedia("crawlall", "--db", "nothing.db")
    assert missing.returncode != 0
    assert "no database at nothing.db" in missing.stderr
