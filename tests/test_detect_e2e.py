"""End to end: crawl the demo world, run `scrapy detect` as a subprocess, compare with what was planted."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.demo.feeds import planted
from db import open_db
from tests.helpers import AS_OF, DemoWorld, run_scrapy


def open_findings(db_path: Path) -> dict[tuple[str, str], dict]:
    db = open_db(db_path)
    rows = db.query(
        "SELECT f.*, t.name FROM findings f JOIN targets t ON t.id = f.target_id WHERE f.resolved_at IS NULL"
    )
    out = {}
    for r in rows:
        out[(r["name"], r["rule"])] = r
    db.close()
    return out


def test_detect_matches_planted_and_lifecycle(demo_world: DemoWorld, db_path: Path) -> None:
    run_scrapy("import-targets", str(demo_world.targets_file), db_path=db_path)
    # Detection on close is switched off here: the test runs the command itself.
    run_scrapy("crawl", "feed", db_path=db_path, MONITOR_DETECT_ON_CLOSE="0")
    assert open_findings(db_path) == {}
    proc = run_scrapy("detect", "--as-of", AS_OF, db_path=db_path)
    assert "findings" in proc.stdout
    expected = {
        (p["target"], rule)
        for p in planted(demo_world.world, demo_world.base)
        for rule in p["details"]["rules"]
    }
    found = open_findings(db_path)
    assert set(found) == expected

    closed = next(p for p in planted(demo_world.world, demo_world.base) if p["kind"] == "closed")
    ev = json.loads(found[(closed["target"], "account.closure_notice")]["evidence"])
    assert ev["effective_date"] == "2026-06-05"  # 25 days before the frozen as_of
    assert ev["status"] == "closed"
    assert ev["migration_targets"] == [
        {"kind": "portal", "name": "临江市人民政府门户网站", "url": "http://www.linjiang.gov.cn/"}
    ]
    closing = next(p for p in planted(demo_world.world, demo_world.base) if p["kind"] == "closing")
    ev = json.loads(found[(closing["target"], "account.closure_notice")]["evidence"])
    assert (ev["status"], ev["effective_date"]) == ("closing", "2026-07-20")
    # The successor 云川发布 is a target and alive: linked, no migration_target_stale.
    assert [(x["name"], x["alive"]) for x in ev["linked_targets"]] == [("云川发布", True)]
    db = open_db(db_path)
    states = {
        r["name"]: r["status"]
        for r in db.query(
            "SELECT t.name, a.status FROM accounts a JOIN targets t ON t.id = a.target_id "
            "WHERE a.status IN ('closing', 'closed')"
        )
    }
    assert states == {closed["target"]: "closed", closing["target"]: "closing", "河口科协": "closed"}
    scores = {r["name"]: r for r in db.query("SELECT * FROM target_scores")}
    assert scores["青山教育"]["verdict"] == "不合格"
    assert scores["临江发布"]["score"] == 100
    assert scores[closed["target"]]["score"] == 95  # idle_not_deregistered −5
    db.close()

    # A second run changes no finding.
    before = {k: (v["id"], v["first_seen_at"], v["evidence"]) for k, v in found.items()}
    run_scrapy("detect", db_path=db_path)
    after = open_findings(db_path)
    assert {k: (v["id"], v["first_seen_at"], v["evidence"]) for k, v in after.items()} == before

    # The stale account posts again: re-crawl (detection on close) resolves its finding.
    stale_id = found[("青山教育", "account.no_update_14d")]["id"]
    demo_world.world.add_post("qingshan-jiaoyu", "恢复更新", "本周工作动态。")
    run_scrapy("crawl", "feed", db_path=db_path)
    db = open_db(db_path)
    row = db.execute("SELECT resolved_at FROM findings WHERE id = ?", [stale_id]).fetchone()
    assert row[0] == AS_OF
    assert ("青山教育", "account.no_update_14d") not in open_findings(db_path)
    db.close()

    # Later, the account falls silent again: the same finding re-opens and keeps its history.
    run_scrapy("detect", "--as-of", "2026-07-20T12:00:00+08:00", db_path=db_path)
    db = open_db(db_path)
    events = [
        r["event"]
        for r in db.query("SELECT event FROM finding_events WHERE finding_id = ? ORDER BY id", [stale_id])
    ]
    assert events == ["opened", "resolved", "reopened"]
    assert (
        db.execute(
            "SELECT count(*) FROM findings WHERE rule = 'account.no_update_14d' AND target_id = "
            "(SELECT target_id FROM findings WHERE id = ?)",
            [stale_id],
        ).fetchone()[0]
        == 1
    )
    db.close()


def test_detect_command_errors_and_profile(db_path: Path) -> None:
    bad = run_scrapy("detect", "--profile", "nope", db_path=db_path, check=False)
    assert bad.returncode != 0
    assert "unknown profile 'nope'" in bad.stderr
    ok = run_scrapy("detect", "--profile", "周更", "--json", db_path=db_path)
    assert json.loads(ok.stdout)["findings"] == 0
    # --profile names a rules profile here, not Scrapy's cProfile output file
    assert not (Path(__file__).resolve().parents[1] / "周更").exists()
