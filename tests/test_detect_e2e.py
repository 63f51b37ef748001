"""End to end over the WHOLE demo world: feed, portal, wechat and weibo crawled by `scrapy crawl`
subprocesses (detection on close switched off), then `scrapy detect` as a subprocess; the open
findings must equal, exactly, what the demo modules planted (their expected_findings()).

One crawled database is shared by the tests of this module (module-scoped fixture); the lifecycle
test changes the world and the database, so it runs last.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.clock import parse_iso
from db import open_db
from demo import feeds, portal, wechat, weibo
from demo.wechat import DEMO_COOKIE, DEMO_TOKEN
from tests.conftest import start_world
from tests.helpers import AS_OF, DemoWorld, run_scrapy

SPIDERS = ("feed", "portal", "wechat", "weibo")
ENV = {
    "MONITOR_WECHAT_TOKEN": DEMO_TOKEN,
    "MONITOR_WECHAT_COOKIE": DEMO_COOKIE,
    "MONITOR_DETECT_ON_CLOSE": "0",
}
Key = tuple[str, str, str, str]  # (target name, platform, rule, subject)


def expected_findings(dw: DemoWorld) -> set[Key]:
    """Every module's planted() mapped to the findings it must produce (see each expected_findings)."""
    out: set[Key] = set()
    for module in (feeds, portal, wechat, weibo):
        out |= module.expected_findings(dw.world, dw.base)
    return out


@dataclass
class Crawled:
    world: DemoWorld
    db_path: Path
    detect_stdout: str


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    tmp = tmp_path_factory.mktemp("detect-e2e")
    dw, server = start_world(tmp)
    db_path = tmp / "monitor.db"
    run_scrapy("import-targets", str(dw.targets_file), db_path=db_path)
    for spider in SPIDERS:
        run_scrapy("crawl", spider, db_path=db_path, **ENV)
    proc = run_scrapy("detect", "--as-of", AS_OF, db_path=db_path)
    yield Crawled(dw, db_path, proc.stdout)
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]


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


def test_no_finding_before_detect_and_detect_reports(crawled: Crawled) -> None:
    assert "findings" in crawled.detect_stdout
    db = open_db(crawled.db_path)
    # every spider ran once, and none of them ran detection (switched off on close)
    runs = [r["spider"] for r in db.query("SELECT spider FROM runs ORDER BY id")]
    assert runs == [*SPIDERS, "detect"]
    assert {r["first_run_id"] for r in db.query("SELECT first_run_id FROM findings")} == {
        db.execute("SELECT id FROM runs WHERE spider = 'detect'").fetchone()[0]
    }
    db.close()


def test_findings_equal_planted(crawled: Crawled) -> None:
    expected = expected_findings(crawled.world)
    found = set(open_findings(crawled.db_path))
    assert found - expected == set(), "findings nothing planted"
    assert expected - found == set(), "planted defects not found"
    # every platform's plants are in play
    assert {k[1] for k in expected} == {"feed", "portal", "wechat", "weibo"}


def test_healthy_and_unreadable_targets(crawled: Crawled) -> None:
    found = open_findings(crawled.db_path)
    w, base = crawled.world.world, crawled.world.base
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
    # unavailable accounts (blocked, deleted, login wall, unreachable, unreadable) are never judged stale
    unavailable = {(k[0], k[1]) for k in found if k[2] == "account.unavailable"}
    assert len(unavailable) == 16
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


def test_closure_evidence(crawled: Crawled) -> None:
    found = open_findings(crawled.db_path)
    as_of = parse_iso(AS_OF)
    closed = next(p for p in feeds.planted(crawled.world.world, crawled.world.base) if p["kind"] == "closed")
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
        p for p in feeds.planted(crawled.world.world, crawled.world.base) if p["kind"] == "closing"
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
    db = open_db(crawled.db_path)
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


def test_portal_evidence(crawled: Crawled) -> None:
    found = open_findings(crawled.db_path)
    planted = portal.planted(crawled.world.world, crawled.world.base)
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


def test_account_evidence(crawled: Crawled) -> None:
    found = open_findings(crawled.db_path)
    # the verification wall and the migrated account say why they are unavailable
    ev = one(found, "示范卫健", "wechat", "account.unavailable")["evidence"]
    assert ev["outcome"] == "blocked"
    assert "环境异常" in ev["reason"]
    ev = one(found, "石桥镇政务", "wechat", "account.unavailable")["evidence"]
    assert ev["status"] == "migrated"
    ev = one(found, "示范卫健", "weibo", "account.unavailable")["evidence"]
    assert ev["http_status"] == 418
    for platform in ("feed", "wechat", "weibo"):
        ev = one(found, "青山教育", platform, "account.no_update_14d")["evidence"]
        assert ev["days_since"] > 14
    db = open_db(crawled.db_path)
    scores = {(r["name"], r["platform"]): r for r in db.query("SELECT * FROM target_scores")}
    db.close()
    assert scores[("青山教育", "feed")]["verdict"] == "不合格"
    assert scores[("临江发布", "weibo")]["score"] == 100
    assert scores[("青山住建", "wechat")]["score"] == 95  # idle_not_deregistered −5


def test_second_detect_changes_nothing(crawled: Crawled) -> None:
    before = {
        k: (v["id"], v["first_seen_at"], v["evidence"]) for k, v in open_findings(crawled.db_path).items()
    }
    proc = run_scrapy("detect", "--json", db_path=crawled.db_path)
    summary = json.loads(proc.stdout)
    assert summary["lifecycle"]["opened"] == summary["lifecycle"]["resolved"] == 0
    assert summary["lifecycle"]["changed"] == 0
    after = {
        k: (v["id"], v["first_seen_at"], v["evidence"]) for k, v in open_findings(crawled.db_path).items()
    }
    assert after == before


def test_world_change_resolves_and_reopens(crawled: Crawled) -> None:
    """Runs last: the stale feed account posts again; later it falls silent again."""
    db_path = crawled.db_path
    found = open_findings(db_path)
    stale_id = found[("青山教育", "feed", "account.no_update_14d", "")]["id"]
    crawled.world.world.add_post("qingshan-jiaoyu", "恢复更新", "本周工作动态。")
    run_scrapy("crawl", "feed", db_path=db_path)  # detection on close, for the crawled targets
    db = open_db(db_path)
    assert db.execute("SELECT resolved_at FROM findings WHERE id = ?", [stale_id]).fetchone()[0] == AS_OF
    db.close()
    after = open_findings(db_path)
    assert ("青山教育", "feed", "account.no_update_14d", "") not in after
    # nothing else moved: the namesakes on WeChat and Weibo are still stale
    assert set(found) - set(after) == {("青山教育", "feed", "account.no_update_14d", "")}
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
    ok = run_scrapy("detect", "--profile", "周更", "--json", db_path=db_path)
    assert json.loads(ok.stdout)["findings"] == 0
    # --profile names a rules profile here, not Scrapy's cProfile output file
    assert not (Path(__file__).resolve().parents[1] / "周更").exists()
