"""Evidence capture (取证): the pages behind veto and deduction findings, kept once, within the size caps.

The session's shared crawl captures as a real one does (at the end of each crawl and of `scrapy detect`,
for the findings that opened); `scrapy capture` is run on copies of it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from evidence.capture import evidence_dir
from evidence.pages import pages_for
from tests.conftest import Crawl, Round2
from tests.helpers import run_scrapy

PAGE_KEYS = ("url", "notice_url", "found_on", "homepage_url", "board_url")


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def named_pages(finding: dict[str, Any]) -> list[str]:
    """The http(s) pages a finding's evidence names at its top level (the oracle's own reading)."""
    evidence = json.loads(finding["evidence"] or "{}")
    urls = [evidence[k] for k in PAGE_KEYS if str(evidence.get(k, "")).startswith(("http://", "https://"))]
    if finding["subject"].startswith(("http://", "https://")):
        urls.append(finding["subject"])
    return urls


def capture(db_path: Path, **settings: int) -> dict[str, Any]:
    options = [arg for k, v in settings.items() for arg in ("-s", f"MONITOR_EVIDENCE_{k.upper()}={v}")]
    proc = run_scrapy("capture", "--json", *options, db_path=db_path, MONITOR_EVIDENCE="1")
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


# --- pure: which pages a finding points at ------------------------------------------------------------


def test_pages_for_prefers_the_evidence_then_the_target() -> None:
    notice = {
        "evidence": json.dumps({"notice_url": "https://a.gov.cn/n.html", "days_since": 40}),
        "subject": "",
    }
    assert pages_for(notice, limit=3) == ["https://a.gov.cn/n.html"]
    dead = {
        "evidence": json.dumps({"url": "http://s.gov.cn/x.pdf", "found_on": "http://s.gov.cn/"}),
        "subject": "http://s.gov.cn/x.pdf",
    }
    assert pages_for(dead, limit=3) == ["http://s.gov.cn/x.pdf", "http://s.gov.cn/"]
    many = {
        "evidence": json.dumps(
            {"links": [{"url": f"http://s.gov.cn/{i}", "found_on": "http://s.gov.cn/"} for i in range(9)]}
        ),
        "subject": "",
    }
    assert pages_for(many, limit=2) == ["http://s.gov.cn/0", "http://s.gov.cn/"]
    stale = {
        "evidence": json.dumps({"newest_post_at": "2026-06-10T12:00:00+08:00"}),
        "subject": "",
        "feed_url": "http://f.example/feed.xml",
        "target_url": None,
        "newest_post_url": "http://f.example/p/1",
    }
    assert pages_for(stale, limit=3) == ["http://f.example/feed.xml", "http://f.example/p/1"]
    hostile = {"evidence": json.dumps({"url": "javascript:alert(1)"}), "subject": "file:///etc/passwd"}
    assert pages_for(hostile, limit=3) == []  # only http(s) is ever fetched


# --- the shared crawl captured what opened -----------------------------------------------------------


def test_each_veto_and_deduction_page_is_captured(world_crawl: Crawl) -> None:
    db_path = world_crawl.db_path
    folder = evidence_dir(db_path)
    findings = rows(
        db_path,
        "SELECT id, rule, severity, subject, evidence FROM findings "
        "WHERE resolved_at IS NULL AND severity IN ('veto', 'deduction')",
    )
    with_pages = [f for f in findings if named_pages(f)]
    assert {f["severity"] for f in with_pages} == {"veto", "deduction"}
    for f in with_pages:
        caps = rows(db_path, "SELECT * FROM evidence WHERE finding_id = ?", (f["id"],))
        html = {c["url"]: c for c in caps if c["kind"] == "html"}
        first = named_pages(f)[0]
        assert first in html, (f["rule"], first, caps)
        for c in caps:
            if not c["path"]:
                continue
            data = (folder / c["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == c["sha256"]
            assert len(data) == c["bytes"]
            assert c["captured_at"].endswith("+08:00")
        if (html[first]["content_type"] or "").startswith("text/html"):
            shots = [c for c in caps if c["kind"] == "png" and c["url"] == first]
            assert shots, (f["rule"], caps)
            assert shots[0]["path"], (f["rule"], caps)
            assert (folder / shots[0]["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a veto whose page is down keeps the failed attempt (why there is no copy), and is not retried
    down = [f for f in findings if f["rule"] == "portal.unreachable"]
    assert down
    for f in down:
        caps = rows(db_path, "SELECT * FROM evidence WHERE finding_id = ?", (f["id"],))
        assert caps
        assert all(c["path"] is None and c["error"] for c in caps)
    # info findings are not captured
    assert not rows(
        db_path,
        "SELECT 1 FROM evidence e JOIN findings f ON f.id = e.finding_id WHERE f.severity = 'info'",
    )


def test_a_finding_event_is_captured_once(world_round2: Round2) -> None:
    twice = rows(
        world_round2.db_path,
        "SELECT finding_id, event_id, url, kind, count(*) AS n FROM evidence "
        "GROUP BY 1, 2, 3, 4 HAVING n > 1",
    )
    assert twice == []
    # round 2 re-crawled the feed: the findings that stayed as they were got no new capture
    round2_run = rows(world_round2.db_path, "SELECT max(id) AS id FROM runs WHERE spider = 'feed'")[0]["id"]
    captured = rows(
        world_round2.db_path, "SELECT DISTINCT finding_id FROM evidence WHERE run_id = ?", (round2_run,)
    )
    events = rows(
        world_round2.db_path,
        "SELECT DISTINCT finding_id FROM finding_events "
        "WHERE run_id = ? AND event IN ('opened', 'reopened', 'changed')",
        (round2_run,),
    )
    assert {r["finding_id"] for r in captured} <= {r["finding_id"] for r in events}


def test_rerun_captures_nothing_new(crawl_copy: Path) -> None:
    before = rows(crawl_copy, "SELECT count(*) AS n FROM evidence")[0]["n"]
    assert before > 0
    summary = capture(crawl_copy)
    assert (summary["findings"], summary["rows"], summary["files"]) == (0, 0, 0)
    assert rows(crawl_copy, "SELECT count(*) AS n FROM evidence")[0]["n"] == before


def test_size_caps_hold(crawl_copy: Path) -> None:
    with sqlite3.connect(crawl_copy) as con:
        con.execute("DELETE FROM evidence")  # a database whose findings opened before capture existed
    shutil.rmtree(evidence_dir(crawl_copy))
    per_file, total = 4_000, 20_000
    summary = capture(crawl_copy, max_bytes=per_file, total_bytes=total)
    assert summary["capped"]
    assert summary["pending"] > 0
    assert summary["findings"] > 0
    stored = rows(
        crawl_copy, "SELECT DISTINCT sha256, bytes, path, truncated FROM evidence WHERE path IS NOT NULL"
    )
    assert stored
    folder = evidence_dir(crawl_copy)
    sizes = {r["sha256"]: (folder / r["path"]).stat().st_size for r in stored}
    assert max(sizes.values()) <= per_file
    assert sum(sizes.values()) <= total
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) <= total  # nothing else written
    assert any(r["truncated"] for r in stored)  # a longer page was cut at the cap, not dropped
    # a screenshot over the per-file cap is not kept, and says why
    too_big = rows(crawl_copy, "SELECT error FROM evidence WHERE kind = 'png' AND path IS NULL")
    assert too_big
    assert all("larger than" in r["error"] for r in too_big)
    # the next run keeps within the caps too (only a file already stored can still be referenced)
    again = capture(crawl_copy, max_bytes=per_file, total_bytes=total)
    assert again["pending"] + again["findings"] <= summary["pending"]
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) <= total


def test_one_detection_captures_at_most_its_limit(crawl_copy: Path) -> None:
    """A first detection can open thousands of findings: it captures the most serious few and leaves the
    rest to `scrapy capture`, which takes them in the same order."""
    with sqlite3.connect(crawl_copy) as con:
        con.execute("PRAGMA foreign_keys = OFF")
        for table in ("evidence", "notifications", "finding_events", "findings"):
            con.execute(f"DELETE FROM {table}")
    shutil.rmtree(evidence_dir(crawl_copy))
    run_scrapy("detect", "-s", "MONITOR_EVIDENCE_PER_RUN=2", db_path=crawl_copy, MONITOR_EVIDENCE="1")
    captured = rows(crawl_copy, "SELECT DISTINCT finding_id FROM evidence")
    assert len(captured) == 2
    waiting = rows(
        crawl_copy,
        "SELECT count(*) AS n FROM findings WHERE resolved_at IS NULL AND severity IN ('veto', 'deduction')",
    )[0]["n"]
    assert waiting > 2
    first_veto = rows(
        crawl_copy, "SELECT min(id) AS id FROM findings WHERE severity = 'veto' AND resolved_at IS NULL"
    )
    assert first_veto[0]["id"] in {r["finding_id"] for r in captured}  # most serious first
    summary = capture(crawl_copy, per_run=0)  # the per-run limit is detection's, not the command's
    assert summary["pending"] == 0
    assert summary["findings"] > waiting // 2  # a finding that names no page has nothing to keep
    after = rows(crawl_copy, "SELECT count(DISTINCT finding_id) AS n FROM evidence")[0]["n"]
    assert after == 2 + summary["findings"]


def test_capture_limit_leaves_the_rest_pending(crawl_copy: Path) -> None:
    with sqlite3.connect(crawl_copy) as con:
        con.execute("DELETE FROM evidence")
    shutil.rmtree(evidence_dir(crawl_copy))
    proc = run_scrapy("capture", "--json", "--limit", "1", db_path=crawl_copy, MONITOR_EVIDENCE="1")
    summary = json.loads(proc.stdout)
    assert summary["findings"] == 1
    assert summary["pending"] > 0
    assert rows(crawl_copy, "SELECT count(DISTINCT finding_id) AS n FROM evidence")[0]["n"] == 1


def test_capture_can_be_switched_off(crawl_copy: Path) -> None:
    proc = run_scrapy("capture", "--json", db_path=crawl_copy, MONITOR_EVIDENCE="0")
    assert json.loads(proc.stdout)["skipped"] == "MONITOR_EVIDENCE is off"


@pytest.mark.parametrize("bad", ["--run=abc", "extra"])
def test_capture_usage_errors(crawl_copy: Path, bad: str) -> None:
    proc = run_scrapy("capture", bad, db_path=crawl_copy, check=False)
    assert proc.returncode != 0
