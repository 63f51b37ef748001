"""End to end over the WHOLE demo world: feed, portal, wechat and weibo crawled by `scrapy crawl`
subprocesses (the session's shared crawl, detection on each spider's close); the open findings must
equal, exactly, what the demo modules planted (their expected_findings()), and every target's verdict
what they planted it to get.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.clock import parse_iso
from db import open_db
from demo import feeds, portal, wechat, weibo
from tests.conftest import SPIDERS, Crawl, Round2, copy_db
from tests.helpers import AS_OF, DemoWorld, run_scrapy

Key = tuple[str, str, str, str]  # (target name, platform, rule, subject)


def expected_findings(dw: DemoWorld) -> set[Key]:
    """Every module's planted() mapped to the findings it must produce (see each expected_findings)."""
    out: set[Key] = set()
    for module in (feeds, portal, wechat, weibo):
        out |= module.expected_findings(dw.world, dw.base)
    return out


def open_findings(db_path: Path) -> dict[Key, dict[str, Any]]:
    db = open_db(db_path)
    out = {}
    for r in db.query(
        "SELECT f.*, t.name, t.platform FROM findings f JOIN targets t ON t.id = f.target_id "
        "WHERE f.resolved_at IS NULL"
    ):
        r["evidence"] = json.loads(r["evidence"]) if r["evidence"] else None
        key = (r["name"], r["platform"], r["rule"], r["subject"])
        assert key not in out, f"duplicate finding {key}"
        out[key] = r
    db.close()
    return out


def one(found: dict[Key, dict[str, Any]], name: str, platform: str, rule: str) -> dict[str, Any]:
    rows = [v for k, v in found.items() if k[:3] == (name, platform, rule)]
    assert len(rows) == 1, (name, platform, rule, rows)
    return rows[0]


@pytest.mark.browser  # reads the JavaScript-only pages of the shared crawl
def test_each_crawl_judges_what_it_crawled(world_crawl: Crawl) -> None:
    db = open_db(world_crawl.db_path)
    # every spider ran once, finished, was trusted, and judged its own targets when it closed
    runs = list(db.query("SELECT * FROM runs ORDER BY id"))
    assert [(r["spider"], r["status"], r["trusted"]) for r in runs] == [
        (s, "finished", 1) for s in (*SPIDERS, "detect")
    ]
    assert db.execute("SELECT count(*) FROM run_problems").fetchone()[0] == 0
    by_run = dict(db.execute("SELECT first_run_id, count(*) FROM findings GROUP BY first_run_id").fetchall())
    assert set(by_run) == {r["id"] for r in runs if r["spider"] != "detect"}
    assert all(json.loads(r["stats"])["monitor/detect"]["errors"] == 0 for r in runs)
    db.close()


def test_findings_equal_planted(world_crawl: Crawl) -> None:
    expected = expected_findings(world_crawl.world)
    found = set(open_findings(world_crawl.db_path))
    assert found - expected == set(), "findings nothing planted"
    assert expected - found == set(), "planted defects not found"
    # every platform's plants are in play
    assert {k[1] for k in expected} == {"feed", "portal", "wechat", "weibo"}


def test_healthy_and_unreadable_targets(world_crawl: Crawl) -> None:
    found = open_findings(world_crawl.db_path)
    w, base = world_crawl.world.world, world_crawl.world.base
    healthy = [p["target"] for p in portal.planted(w, base) if p["kind"] == "healthy_portal"]
    assert healthy == ["临江市人民政府门户网站"]
    active = {(wx.acc.name, "wechat") for wx in wechat.wechat_accounts(w) if wx.state == "active"}
    active |= {(wb.acc.name, "weibo") for wb in weibo.weibo_accounts(w) if wb.state == "active"}
    active |= {
        (p["target"], "feed") for p in feeds.planted(w, base) if p["kind"] in ("active", "atom_active")
    }
    active.add(("临江市人民政府门户网站", "portal"))
    assert len(active) == 7
    assert not [k for k in found if (k[0], k[1]) in active]
    # unavailable accounts (deleted, banned, migrated, dead, unreachable, unreadable) are never judged stale
    unavailable = {(k[0], k[1]) for k in found if k[2] == "account.unavailable"}
    planted_unavailable = {
        (k[0], k[1]) for k in expected_findings(world_crawl.world) if k[2] == "account.unavailable"
    }
    assert unavailable == planted_unavailable
    assert len(unavailable) == 9  # feed 4 (deleted, dead, malformed, unreachable), WeChat 5
    stale_rules = {"account.no_update_14d", "account.zombie", "account.update_gaps"}
    assert not [k for k in found if (k[0], k[1]) in unavailable and k[2] in stale_rules]
    # the unreachable portal: portal.unreachable and nothing about its (unseen) columns
    down = next(p["target"] for p in portal.planted(w, base) if p["kind"] == "unreachable")
    assert [k[2] for k in found if k[0] == down] == ["portal.unreachable"]
    ev = one(found, down, "portal", "portal.unreachable")["evidence"]
    assert ev["failed"] == ev["probes"] >= 1
    assert ev["failed_share"] == 1.0
    # parse-failed and unreachable columns are neither stale nor blank
    for p in portal.planted(w, base):
        if p["kind"] in ("parse_failed_column", "unreachable_column"):
            rules = {k[2] for k in found if k[3] == p["url"]}
            assert not rules & {"portal.column_stale", "portal.blank_column"}, p
    # petition-board (信访) messages are never portal.unanswered_message
    petitions = [
        p["message_id"]
        for p in portal.planted(w, base)
        if p["kind"] == "unanswered_message" and p["board_kind"] == "petition"
    ]
    assert petitions
    assert not [k for k in found if k[3] in petitions]


@pytest.mark.browser  # reads the JavaScript-only pages of the shared crawl
def test_closure_evidence(world_crawl: Crawl) -> None:
    found = open_findings(world_crawl.db_path)
    as_of = parse_iso(AS_OF)
    closed = next(
        p for p in feeds.planted(world_crawl.world.world, world_crawl.world.base) if p["kind"] == "closed"
    )
    for platform in ("feed", "wechat", "weibo"):
        ev = one(found, closed["target"], platform, "account.closure_notice")["evidence"]
        assert ev["effective_date"] == (as_of - timedelta(days=25)).date().isoformat() == "2026-06-05"
        assert ev["status"] == "closed"
        assert ev["migration_targets"] == [
            {"kind": "portal", "name": "临江市人民政府门户网站", "url": "http://www.linjiang.gov.cn/"}
        ]
        # 并入 verification: the named portal is a target, alive (its homepage updates)
        assert [(x["name"], x["platform"], x["alive"], x["successor"]) for x in ev["linked_targets"]] == [
            ("临江市人民政府门户网站", "portal", True, True)
        ]
        idle = one(found, closed["target"], platform, "account.idle_not_deregistered")["evidence"]
        assert idle["effective_date"] == "2026-06-05"
        assert idle["days_since"] == 25.5
    closing = next(
        p for p in feeds.planted(world_crawl.world.world, world_crawl.world.base) if p["kind"] == "closing"
    )
    # 云川发布 is a feed, a WeChat and (not) a Weibo target: the same platform is the successor,
    # else every other-platform namesake, alive if any is
    ev = one(found, closing["target"], "feed", "account.closure_notice")["evidence"]
    assert (ev["status"], ev["effective_date"]) == ("closing", "2026-07-20")  # in the future
    assert [(x["name"], x["platform"], x["alive"], x["successor"]) for x in ev["linked_targets"]] == [
        ("云川发布", "feed", True, True),
        ("云川发布", "wechat", True, False),
    ]
    ev = one(found, closing["target"], "weibo", "account.closure_notice")["evidence"]
    assert (ev["status"], ev["effective_date"]) == ("closing", "2026-07-20")
    assert sorted((x["platform"], x["alive"], x["successor"]) for x in ev["linked_targets"]) == [
        ("feed", True, True),
        ("wechat", True, True),
    ]
    assert not [k for k in found if k[2] == "account.migration_target_stale"]
    db = open_db(world_crawl.db_path)
    states = {
        (r["name"], r["platform"]): r["status"]
        for r in db.query(
            "SELECT t.name, t.platform, a.status FROM accounts a JOIN targets t ON t.id = a.target_id "
            "WHERE a.status IN ('closing', 'closed')"
        )
    }
    reasons = [r[0] for r in db.execute("SELECT status_reason FROM accounts WHERE status = 'closed'")]
    db.close()
    assert states == {
        **{(closed["target"], p): "closed" for p in ("feed", "wechat", "weibo")},
        **{("河口科协", p): "closed" for p in ("feed", "wechat", "weibo")},
        **{(closing["target"], p): "closing" for p in ("feed", "weibo")},
    }
    assert all(r and not r.startswith("None") for r in reasons)  # Weibo posts have no title


def test_portal_evidence(world_crawl: Crawl) -> None:
    found = open_findings(world_crawl.db_path)
    planted = portal.planted(world_crawl.world.world, world_crawl.world.base)
    for p in planted:
        if p["kind"] == "stale_column":
            ev = found[(p["target"], "portal", "portal.column_stale", p["url"])]["evidence"]
            # list pages date items by day: the newest item's day
            assert ev["newest_item_at"][:10] == p["newest_at"][:10], p
        elif p["kind"] == "unanswered_message" and p["board_kind"] == "consultation":
            ev = found[(p["target"], "portal", "portal.unanswered_message", p["message_id"])]["evidence"]
            assert ev["asked_at"] == p["asked_at"]
            assert ev["answered_at"] is None
            assert ev["days_open"] == pytest.approx(p["age_days"], abs=1)
            assert ev["days_open"] > 90
        elif p["kind"] == "dead_link" and p["where"] == "homepage":
            ev = found[(p["target"], "portal", "portal.dead_link_homepage", p["url"])]["evidence"]
            assert (ev["url"], ev["outcome"]) == (p["url"], p["outcome"]), p
    deeper = {
        (p["url"], p["found_on"]) for p in planted if p["kind"] == "dead_link" and p["where"] != "homepage"
    }
    assert len(deeper) == 2
    site = next(p["target"] for p in planted if p["kind"] == "homepage_stale")
    ev = found[(site, "portal", "portal.dead_links", "")]["evidence"]
    assert ev["count"] == len(deeper)
    assert {(x["url"], x["found_on"]) for x in ev["links"]} == deeper
    hp = next(p for p in planted if p["kind"] == "homepage_stale")
    assert (
        found[(site, "portal", "portal.homepage_stale", "")]["evidence"]["newest_at"][:10]
        == hp["newest_at"][:10]
    )
    code = next(p for p in planted if p["kind"] == "invalid_site_id_code")
    ev = found[(site, "portal", "portal.invalid_site_id_code", "")]["evidence"]
    assert ev["site_id_code"] == code["site_id_code"]


def test_board_evidence(world_crawl: Crawl) -> None:
    """Boards as they are: a message whose board says 已回复 but shows no reply date, or that shows
    neither a status nor a date, is no veto; the second makes the check partial, and says so."""
    found = open_findings(world_crawl.db_path)
    planted = portal.planted(world_crawl.world.world, world_crawl.world.base)
    quiet = {
        p["message_id"] for p in planted if p["kind"] in ("answered_undated_message", "unknown_state_message")
    }
    assert quiet
    assert not [k for k in found if k[2] == "portal.unanswered_message" and k[3] in quiet]
    deep = next(p for p in planted if p["kind"] == "unanswered_message" and p["page"] > 1)
    ev = found[(deep["target"], "portal", "portal.unanswered_message", deep["message_id"])]["evidence"]
    assert (ev["answer_state"], ev["status"]) == ("open", "未回复")
    db = open_db(world_crawl.db_path)
    scores = {r["name"]: r for r in db.query("SELECT * FROM target_scores WHERE platform = 'portal'")}
    db.close()
    (unknown,) = [p for p in planted if p["kind"] == "unknown_state_message"]
    assert scores[unknown["target"]]["coverage"] == "partial"
    assert "留言答复情况不明 1 message(s)" in scores[unknown["target"]]["reason"]
    healthy = next(p["target"] for p in planted if p["kind"] == "healthy_portal")
    assert any(p["target"] == healthy for p in planted if p["kind"] == "answered_undated_message")
    assert (scores[healthy]["verdict"], scores[healthy]["coverage"]) == ("合格", "read")


def test_account_evidence(world_crawl: Crawl) -> None:
    found = open_findings(world_crawl.db_path)
    # the migrated account says why it is unavailable; a verification wall or a rate limit is a refusal
    # to us: no finding, and 无法检查 with the reason
    ev = one(found, "石桥镇政务", "wechat", "account.unavailable")["evidence"]
    assert ev["status"] == "migrated"
    assert not [k for k in found if k[0] == "示范卫健" and k[1] in ("wechat", "weibo")]
    for platform in ("feed", "wechat", "weibo"):
        ev = one(found, "青山教育", platform, "account.no_update_14d")["evidence"]
        assert ev["days_since"] > 14
    db = open_db(world_crawl.db_path)
    scores = {(r["name"], r["platform"]): r for r in db.query("SELECT * FROM target_scores")}
    db.close()
    assert scores[("青山教育", "feed")]["verdict"] == "不合格"
    assert scores[("临江发布", "weibo")]["score"] == 100
    assert scores[("青山住建", "wechat")]["score"] == 95  # idle_not_deregistered −5
    assert scores[("示范卫健", "wechat")]["verdict"] == "无法检查"
    assert "环境异常" in scores[("示范卫健", "wechat")]["reason"]
    assert scores[("示范卫健", "weibo")]["verdict"] == "无法检查"
    assert "HTTP 418" in scores[("示范卫健", "weibo")]["reason"]


@pytest.mark.browser  # reads the JavaScript-only pages of the shared crawl
def test_every_verdict_is_the_planted_one(world_crawl: Crawl) -> None:
    """合格 / 不合格 / 无法检查 for each planted account and portal, as each plant says."""
    w, base = world_crawl.world.world, world_crawl.world.base
    expected: dict[tuple[str, str], str] = {}
    for p in feeds.planted(w, base):
        expected[(p["target"], "feed")] = p["details"]["verdict"]
    for wx in wechat.wechat_accounts(w):
        expected[(wx.acc.name, "wechat")] = wechat.EXPECTED_VERDICTS[wx.state]
    for wb in weibo.weibo_accounts(w):
        expected[(wb.acc.name, "weibo")] = weibo.EXPECTED_VERDICTS[wb.state]
    for site in portal.portals(w):
        expected[(site.name, "portal")] = portal.EXPECTED_VERDICTS[site.archetype]
    expected[(portal.UNREACHABLE[1], "portal")] = portal.EXPECTED_VERDICTS["unreachable"]
    db = open_db(world_crawl.db_path)
    got = {(r["name"], r["platform"]): r for r in db.query("SELECT * FROM target_scores")}
    db.close()
    assert {k: got[k]["verdict"] for k in expected} == expected
    # nothing is 合格 without having been read
    assert not [k for k, r in got.items() if r["verdict"] == "合格" and r["coverage"] in ("unread", "never")]
    # every 无法检查 says why
    assert all(r["reason"] for r in got.values() if r["verdict"] == "无法检查")


def test_second_detect_changes_nothing(crawl_copy: Path) -> None:
    before = {k: (v["id"], v["first_seen_at"], v["evidence"]) for k, v in open_findings(crawl_copy).items()}
    proc = run_scrapy("detect", "--json", db_path=crawl_copy)
    summary = json.loads(proc.stdout)
    assert summary["lifecycle"]["opened"] == summary["lifecycle"]["resolved"] == 0
    assert summary["lifecycle"]["changed"] == 0
    after = {k: (v["id"], v["first_seen_at"], v["evidence"]) for k, v in open_findings(crawl_copy).items()}
    assert after == before


def test_world_change_resolves_and_reopens(world_crawl: Crawl, world_round2: Round2, tmp_path: Path) -> None:
    """A week later the stale feed account posts again (round 2); later still it falls silent again."""
    found = open_findings(world_crawl.db_path)
    stale_id = found[("青山教育", "feed", "account.no_update_14d", "")]["id"]
    db = open_db(world_round2.db_path)
    assert db.execute("SELECT resolved_at FROM findings WHERE id = ?", [stale_id]).fetchone()[0] == AS_OF
    db.close()
    after = open_findings(world_round2.db_path)
    assert ("青山教育", "feed", "account.no_update_14d", "") not in after
    # nothing else moved but the new account with a dead feed: the namesakes on WeChat and Weibo are
    # still stale
    assert set(found) - set(after) == {("青山教育", "feed", "account.no_update_14d", "")}
    # (its 20 silent days before the new post are now a gap in its record: update_gaps)
    assert set(after) - set(found) == {
        (world_round2.new_target, "feed", "account.unavailable", ""),
        ("青山教育", "feed", "account.update_gaps", ""),
    }
    db_path = copy_db(world_round2.db_path, tmp_path / "later.db")
    run_scrapy("detect", "--as-of", "2026-07-20T12:00:00+08:00", db_path=db_path)
    db = open_db(db_path)
    events = [
        r["event"]
        for r in db.query("SELECT event FROM finding_events WHERE finding_id = ? ORDER BY id", [stale_id])
    ]
    assert events == ["opened", "resolved", "reopened"]
    n = db.execute(
        "SELECT count(*) FROM findings WHERE rule = 'account.no_update_14d' AND target_id = "
        "(SELECT target_id FROM findings WHERE id = ?)",
        [stale_id],
    ).fetchone()[0]
    assert n == 1
    db.close()


def test_detect_command_errors_and_profile(db_path: Path) -> None:
    bad = run_scrapy("detect", "--profile", "nope", db_path=db_path, check=False)
    assert bad.returncode != 0
    assert "unknown profile 'nope'" in bad.stderr
    # a database with targets and nothing crawled yet: no evidence, no finding
    run_scrapy("import-targets", "targets/example.yaml", db_path=db_path)
    ok = run_scrapy("detect", "--profile", "周更", "--json", db_path=db_path)
    assert json.loads(ok.stdout)["findings"] == 0
    # --profile names a rules profile here, not Scrapy's cProfile output file
    assert not (Path(__file__).resolve().parents[1] / "周更").exists()
