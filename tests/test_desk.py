"""The Datasette desk: canned queries, views, dashboard, Atom feed, password protection, escaping.

The session's shared crawl of the whole demo world, a week later (tests/conftest.py world_round2: the
stale feed account posted again, a new account with a dead feed was registered, the feed re-crawled),
feeds real Datasette for the whole module. The desk reads detection's findings and verdicts: every
canned query is compared with detection's rows for its rule and with what the demo world planted.
Browser tests drive headless Chromium through Playwright.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from datasette_auth_passwords.utils import hash_password

from core.clock import parse_iso
from core.labels import LABELS, label
from db.serve import datasette_command
from demo.run import wait_for_port
from tests.conftest import XSS_TITLE, Round2
from tests.helpers import AS_OF, ROOT, free_port

ARTIFACTS = ROOT / "test-artifacts"
ACCOUNT_PLATFORMS = ("feed", "wechat", "weibo")
CLOSURE_KINDS = ("closed", "closing", "zombie")


@dataclass
class Desk:
    base: str
    crawl: Round2

    def sql(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Read the crawled database directly (the oracle side of a comparison)."""
        con = sqlite3.connect(f"file:{self.crawl.db_path}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql, params)]
        finally:
            con.close()


def start_datasette(db_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        datasette_command(db_path, port=port),
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, timeout=30)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def desk(world_round2: Round2) -> Iterator[Desk]:
    proc, base = start_datasette(world_round2.db_path)
    try:
        yield Desk(base, world_round2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def get(
    base: str, path: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> bytes:
    url = f"{base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return bytes(resp.read())


def query(desk: Desk, name: str, **params: str) -> list[dict[str, Any]]:
    rows = json.loads(get(desk.base, f"/monitor/{name}.json", {**params, "_shape": "array", "_size": "max"}))
    assert isinstance(rows, list), rows
    return rows


def keys(rows: list[dict[str, Any]], name: str = "name") -> set[tuple[str, str]]:
    return {(r["platform"], r[name]) for r in rows}


# --- what the demo world planted --------------------------------------------------------------------


def cutoff(days: int) -> str:
    return (parse_iso(AS_OF) - timedelta(days=days)).isoformat()


def planted(crawl: Round2, rule: str) -> set[tuple[str, str]]:
    """(platform, name) of every target the world planted to get ``rule`` (as of round 2)."""
    return {(k[1], k[0]) for k in crawl.expected if k[2] == rule}


def detected(desk: Desk, rule: str) -> set[tuple[str, str]]:
    """(platform, name) of every target with an open finding of ``rule``: what detection decided."""
    rows = desk.sql(
        "SELECT t.platform, t.name FROM findings f JOIN targets t ON t.id = f.target_id "
        "WHERE f.resolved_at IS NULL AND f.rule = ?",
        (rule,),
    )
    return {(r["platform"], r["name"]) for r in rows}


def planted_stale(crawl: Round2) -> set[tuple[str, str]]:
    return planted(crawl, "account.no_update_14d")


def planted_closures(crawl: Round2) -> dict[tuple[str, str], dict[str, Any]]:
    """(platform, account) -> the feed archetype's notice details (WeChat/Weibo reuse the same notices)."""
    by_kind = {p["kind"]: p for p in crawl.planted["feed"] if p["kind"] in CLOSURE_KINDS}
    out = {}
    for platform in ACCOUNT_PLATFORMS:
        for p in crawl.planted[platform]:
            if p["kind"] in CLOSURE_KINDS:
                out[(platform, p["target"])] = {"kind": p["kind"], **by_kind[p["kind"]]["details"]}
    return out


def portal_planted(crawl: Round2, kind: str) -> list[dict[str, Any]]:
    return [p for p in crawl.planted["portal"] if p["kind"] == kind]


# --- canned queries against what the demo world plants ------------------------------------------


def test_stale_accounts_are_detections_and_the_planted_ones(desk: Desk) -> None:
    rows = query(desk, "stale_accounts")
    assert keys(rows) == detected(desk, "account.no_update_14d") == planted_stale(desk.crawl)
    assert len(rows) == len(planted_stale(desk.crawl))  # one row per account, names repeat across platforms
    # the planted stale account on the feed posted again before the second crawl: no longer stale
    assert ("feed", "青山教育") not in keys(rows)
    assert {("wechat", "青山教育"), ("weibo", "青山教育"), ("wechat", "临江教育")} <= keys(rows)
    for r in rows:
        assert r["newest_post_at"] < cutoff(r["threshold_days"])
        assert r["days_since_post"] > r["threshold_days"]
    assert [r["newest_post_at"] for r in rows] == sorted(r["newest_post_at"] for r in rows)  # oldest first
    assert {r["threshold_days"] for r in rows} == {14}  # from the rules file, not restated by the desk


def test_stale_accounts_parameters(desk: Desk) -> None:
    assert keys(query(desk, "stale_accounts", platform="weibo")) == {
        k for k in planted_stale(desk.crawl) if k[0] == "weibo"
    }
    regions = {(r["platform"], r["name"]): r for r in desk.sql("SELECT * FROM targets")}
    qingshan = {k for k in planted_stale(desk.crawl) if regions[k]["region_name"].startswith("临江市")}
    assert keys(query(desk, "stale_accounts", region="临江市")) == qingshan
    assert keys(query(desk, "stale_accounts", region="990121")) == {
        k for k in planted_stale(desk.crawl) if regions[k]["region_code"].startswith("990121")
    }
    assert keys(query(desk, "stale_accounts", level="省级")) == set()


def test_every_rule_query_equals_detection(desk: Desk) -> None:
    """Each canned query that lists one rule's targets lists exactly detection's open findings of it."""
    for name, rule, key in (
        ("stale_accounts", "account.no_update_14d", "name"),
        ("zombie_accounts", "account.zombie", "name"),
        ("closure_notices", "account.closure_notice", "name"),
    ):
        assert keys(query(desk, name), key) == detected(desk, rule), name
    for name, rule in (
        ("overdue_columns", "portal.column_stale"),
        ("blank_columns", "portal.blank_column"),
        ("unanswered_messages", "portal.unanswered_message"),
    ):
        rows = desk.sql("SELECT count(*) AS n FROM findings WHERE rule = ? AND resolved_at IS NULL", (rule,))
        assert len(query(desk, name)) == rows[0]["n"], name


def test_zombie_accounts(desk: Desk) -> None:
    rows = query(desk, "zombie_accounts")
    assert keys(rows) == planted(desk.crawl, "account.zombie")
    for row in rows:
        assert row["only_closure_notices_in_year"] == 1  # nothing but the stop notice in the last year
        assert row["closure_effective_date"]


def test_closure_notices_newest_first_with_successor(desk: Desk) -> None:
    rows = query(desk, "closure_notices")
    planted = planted_closures(desk.crawl)
    assert keys(rows) == set(planted)
    assert len(rows) == len(planted)
    assert [r["notice_published_at"] for r in rows] == sorted(
        (r["notice_published_at"] for r in rows), reverse=True
    )
    as_of = parse_iso(AS_OF)
    targets = {(t["platform"], t["name"]): t for t in desk.sql("SELECT * FROM targets")}
    for r in rows:
        p = planted[(r["platform"], r["name"])]
        assert r["migration_target"] == p["migration_target"], r
        if "effective_days_before_as_of" in p:
            assert (
                r["effective_date"]
                == (as_of - timedelta(days=p["effective_days_before_as_of"])).date().isoformat()
            )
            assert r["status"] == "closed"
        elif "effective_days_after_as_of" in p:
            assert (
                r["effective_date"]
                == (as_of + timedelta(days=p["effective_days_after_as_of"])).date().isoformat()
            )
            assert r["status"] == "closing"
        else:  # the zombie's stop notice takes effect at once
            assert r["effective_date"] == r["notice_published_at"][:10]
            assert r["status"] == "closed"
        assert r["notice_title"]
        assert r["notice_url"]
        # the successor detection chose: same platform first, else a portal
        same = targets.get((r["platform"], p["migration_target"]))
        portal = targets.get(("portal", p["migration_target"]))
        want = same or portal
        if want is not None:
            assert r["successor_target_id"] == want["id"], r
    closed = next(
        r for r in rows if r["platform"] == "feed" and planted[("feed", r["name"])]["kind"] == "closed"
    )
    assert closed["migration_url"] == "http://www.linjiang.gov.cn/"
    assert closed["successor_platform"] == "portal"
    assert closed["successor_newest_at"] is not None
    closing = {r["platform"]: r for r in rows if planted[(r["platform"], r["name"])]["kind"] == "closing"}
    assert closing["feed"]["successor_platform"] == "feed"  # 云川发布 on the feed, not its WeChat namesake
    assert closing["feed"]["successor_newest_at"] > cutoff(3)
    assert closing["feed"]["successor_alive"] == 1
    assert {r["platform"] for r in query(desk, "closure_notices", platform="weibo")} == {"weibo"}
    assert {r["region_name"] for r in query(desk, "closure_notices", region="临江市")} == {"临江市青山区"}


def targets_by_id(targets: dict[tuple[str, str], dict[str, Any]], target_id: int) -> dict[str, Any]:
    return next(t for t in targets.values() if t["id"] == target_id)


def test_portal_columns(desk: Desk) -> None:
    overdue = query(desk, "overdue_columns")
    assert {r["url"] for r in overdue} == {p["url"] for p in portal_planted(desk.crawl, "stale_column")}
    site = {p["target"] for p in portal_planted(desk.crawl, "stale_column")}
    assert {r["site"] for r in overdue} == site
    assert {r["overdue_on_site"] for r in overdue} == {len(overdue)}
    policy = query(desk, "overdue_columns", kind="政策文件")
    assert [r["kind"] for r in policy] == ["政策文件"]
    blank = query(desk, "blank_columns")
    assert {r["url"] for r in blank} == {p["url"] for p in portal_planted(desk.crawl, "blank_column")}


def test_dead_links_by_site(desk: Desk) -> None:
    rows = query(desk, "dead_links_by_site")
    planted = portal_planted(desk.crawl, "dead_link")
    # an unreachable column is also a dead link on the homepage that links to it
    unreachable_columns = portal_planted(desk.crawl, "unreachable_column")
    expected = {(p["target"], p["url"]) for p in planted + unreachable_columns}
    assert {(r["site"], r["url"]) for r in rows} == expected
    on_home = {p["url"] for p in planted if p["where"] == "homepage"}
    for r in rows:
        if r["url"] in {p["url"] for p in planted}:
            assert r["on_homepage"] == (r["url"] in on_home), r
    per_site = {r["site"]: r["dead_on_site"] for r in rows}
    assert per_site == {s: sum(1 for site, _ in expected if site == s) for s in per_site}
    assert query(desk, "dead_links_by_site", site="临江") == []  # the healthy portal has none


def test_unanswered_messages(desk: Desk) -> None:
    rows = query(desk, "unanswered_messages")
    planted = portal_planted(desk.crawl, "unanswered_message")
    consult = [p for p in planted if p["board_kind"] == "consultation"]
    assert consult
    assert any(p["board_kind"] == "petition" for p in planted)
    assert {r["message_id"] for r in rows} == {p["message_id"] for p in consult}  # never the petition
    for r in rows:
        p = next(p for p in consult if p["message_id"] == r["message_id"])
        assert r["days_open"] == pytest.approx(p["age_days"], abs=0.01)


def official_scores(desk: Desk) -> dict[int, tuple[str, float | None]]:
    """The official rule over open findings: any veto ⇒ 不合格; a target nothing could be read of
    (coverage unread / never) ⇒ 无法检查; else 100 − capped deductions (< 60 fails)."""
    caps = {r["id"]: r["cap"] for r in desk.sql("SELECT id, cap FROM rules")}
    findings = desk.sql("SELECT target_id, rule, severity, points FROM findings WHERE resolved_at IS NULL")
    coverage = {
        r["target_id"]: r["coverage"] for r in desk.sql("SELECT target_id, coverage FROM target_scores")
    }
    out: dict[int, tuple[str, float | None]] = {}
    for t in desk.sql("SELECT id FROM targets WHERE active = 1"):
        mine = [f for f in findings if f["target_id"] == t["id"]]
        if any(f["severity"] == "veto" for f in mine):
            out[t["id"]] = ("不合格", None)
            continue
        if coverage[t["id"]] in ("unread", "never"):
            out[t["id"]] = ("无法检查", None)
            continue
        per_rule: dict[str, float] = {}
        for f in mine:
            if f["severity"] == "deduction":
                per_rule[f["rule"]] = per_rule.get(f["rule"], 0) + (f["points"] or 0)
        score = round(100 - sum(min(v, caps.get(r) or 1e9) for r, v in per_rule.items()), 2)
        out[t["id"]] = ("不合格" if score < 60 else "合格", score)
    return out


def test_scorecard_official_logic(desk: Desk) -> None:
    rows = query(desk, "scorecard")
    assert {r["target_id"]: (r["verdict"], r["score"]) for r in rows} == official_scores(desk)
    # an account the crawler could not read is neither scored nor passing, and says why
    assert all(r["caveat"] for r in rows if r["verdict"] == "无法检查")
    scores = {r["target_id"]: r for r in desk.sql("SELECT * FROM target_scores")}
    for r in rows:  # the desk shows detection's numbers, it does not recompute them
        assert (r["vetoes"], r["deducted"]) == (
            scores[r["target_id"]]["vetoes"],
            scores[r["target_id"]]["deductions"],
        )
    assert rows[0]["verdict"] == "不合格"  # failures first
    by = {(r["platform"], r["name"]): r for r in rows}
    for key in planted_stale(desk.crawl):
        if key[1] != "青山住建":  # closed accounts are priced by idle_not_deregistered, not the stale veto
            assert by[key]["verdict"] == "不合格", key
    portal = by[("portal", portal_planted(desk.crawl, "homepage_stale")[0]["target"])]
    assert portal["verdict"] == "不合格"
    assert "首页不更新" in portal["veto_findings"]
    assert by[("feed", "青山住建")]["deduction_detail"] == "闲置账号未及时注销 −5.0"
    # accounts the crawler could not read are flagged, never silently "合格"
    unchecked = {(r["platform"], r["name"]) for r in rows if r["verdict"] == "无法检查"}
    assert {("feed", "云川生态环境"), ("wechat", "云川教育"), ("feed", desk.crawl.new_target)} <= unchecked
    # a portal whose homepage did not open fails on the veto, and says the homepage did not open
    for p in portal_planted(desk.crawl, "unreachable"):
        assert by[("portal", p["target"])]["caveat"].startswith("首页无法打开"), p
    assert not by[("portal", portal_planted(desk.crawl, "healthy_portal")[0]["target"])]["caveat"]
    assert {r["platform"] for r in query(desk, "scorecard", scope="portal")} == {"portal"}


def test_league_table(desk: Desk) -> None:
    rows = query(desk, "league_table")
    regions = desk.sql("SELECT * FROM region_scores")
    levels = desk.sql("SELECT * FROM level_scores")
    assert len(rows) == len(regions) + len(levels)
    total = len(desk.sql("SELECT id FROM targets WHERE active = 1"))
    assert sum(r["targets"] for r in rows if r["by"].startswith("地区")) == total
    assert sum(r["targets"] for r in rows if r["by"].startswith("层级")) == total
    rates = [r["pass_rate"] for r in rows]  # worst first; groups with nothing checkable (NULL) last
    checked = [r for r in rates if r is not None]
    assert rates == checked + [None] * (len(rates) - len(checked))
    assert checked == sorted(checked)
    scores = official_scores(desk)
    targets = desk.sql("SELECT id, level, platform FROM targets WHERE active = 1")
    for r in (r for r in rows if r["by"].startswith("层级")):
        mine = [t for t in targets if t["level"] == r["grouping"] and t["platform"] == r["platform"]]
        assert r["failing"] == sum(scores[t["id"]][0] == "不合格" for t in mine), r
        assert r["unchecked"] == sum(scores[t["id"]][0] == "无法检查" for t in mine), r
    assert {r["by"] for r in query(desk, "league_table", by="level")} == {"层级 level"}


def test_changes_since_last_run(desk: Desk) -> None:
    rows = query(desk, "changes_since_last_run")
    last_run = max(r["id"] for r in desk.sql("SELECT id FROM runs"))
    assert {r["run_id"] for r in rows} == {last_run}
    new = {(r["platform"], r["target_name"], r["rule"]) for r in rows if r["change"].startswith("new")}
    resolved = {
        (r["platform"], r["target_name"], r["rule"]) for r in rows if r["change"].startswith("resolved")
    }
    assert ("feed", desk.crawl.new_target, "account.unavailable") in new  # registered in round 2, feed gone
    assert resolved == {("feed", "青山教育", "account.no_update_14d")}  # it posted again
    first_seen = desk.sql("SELECT count(*) AS n FROM findings WHERE first_run_id = ?", (last_run,))[0]["n"]
    assert len(new) == first_seen
    assert query(desk, "changes_since_last_run", severity="veto") == [
        r for r in rows if r["severity"] == "veto"
    ]


def test_search_posts_highlights(desk: Desk) -> None:
    rows = query(desk, "search_posts", q="停止发布信息")
    assert rows
    assert {r["account"] for r in rows} == {"青山住建"}  # the closed account's notice, each platform
    assert all("\ue000停止发布信息\ue001" in r["snippet"] for r in rows)
    html = get(desk.base, "/monitor/search_posts", {"q": "停止发布信息"}).decode()
    assert "<mark>停止发布信息</mark>" in html
    # trigram: fewer than 3 characters cannot match — the desk says so instead of answering nothing
    with pytest.raises(urllib.error.HTTPError) as err:
        query(desk, "search_posts", q="停止")
    assert err.value.code == 400
    assert "至少需要 3 个字" in json.loads(err.value.read())["error"]
    short = get(desk.base, "/monitor/search_posts", {"q": "注销"}).decode()
    assert "至少需要 3 个字" in short
    assert "没有符合条件的记录" not in short
    scripted = get(desk.base, "/monitor/search_posts", {"q": "防汛救灾工作简报"}).decode()
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in scripted
    assert "<script>window.__pwned" not in scripted


# --- views, facets, metadata ---------------------------------------------------------------------


def test_one_rules_lookup(desk: Desk) -> None:
    """The desk reads detection's rules table: every rule of the rules file, with English label and method."""
    shipped = yaml.safe_load((ROOT / "detection/rules/indicators.yaml").read_text(encoding="utf-8"))["rules"]
    rules = query(desk, "finding_rules")
    assert {r["rule"] for r in rules} == set(shipped)
    for r in rules:
        want = shipped[r["rule"]]
        assert (r["label"], r["severity"], r["label_en"], r["measured"]) == (
            want["label"],
            want["severity"],
            want["label_en"],
            want["measured"],
        )
        assert r["source"]
        assert r["scope"] == r["rule"].split(".")[0]
    priced = {r["rule"]: (r["points"], r["cap"]) for r in rules}
    assert priced["portal.dead_link_homepage"] == (1, 5)
    assert priced["portal.dead_links"] == (0.1, 5)
    tables = {r["name"] for r in desk.sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "finding_rules" not in tables  # a view over rules, not a second copy


def test_findings_view_facets_and_labels(desk: Desk) -> None:
    data = json.loads(get(desk.base, "/monitor/open_findings.json", {"_shape": "objects"}))
    facets = data["facet_results"]
    assert {"rule_label", "severity", "region_name", "level", "platform"} <= set(facets)
    open_rows = desk.sql(
        "SELECT t.level, t.platform FROM findings f JOIN targets t ON t.id = f.target_id "
        "WHERE f.resolved_at IS NULL"
    )
    levels = {f["value"]: f["count"] for f in facets["level"]["results"]}
    assert levels["县级"] == sum(r["level"] == "县级" for r in open_rows)
    platforms = {f["value"]: f["count"] for f in facets["platform"]["results"]}
    assert platforms == {p: sum(r["platform"] == p for r in open_rows) for p in platforms}
    labels = {f["value"] for f in facets["rule_label"]["results"]}
    assert "监测时间点前2周内无更新" in labels
    assert data["filtered_table_rows_count"] == len(open_rows)
    meta = json.loads(get(desk.base, "/-/metadata.json"))
    queries = meta["databases"]["monitor"]["queries"]
    assert all(q.get("title") and q.get("description_html") for q in queries.values())
    # foreign keys show names: the findings table page labels target_id with the target's name
    page = get(desk.base, "/monitor/findings", {"rule": "account.zombie"}).decode()
    assert "河口科协" in page


# --- the Atom feed --------------------------------------------------------------------------------


def test_findings_atom_feed(desk: Desk) -> None:
    body = get(desk.base, "/monitor/findings_feed.atom").decode()
    assert body.startswith("<?xml")
    n = desk.sql("SELECT count(*) AS n, count(resolved_at) AS r FROM findings")[0]
    assert body.count("<entry>") == min(200, n["n"])  # a resolved finding is one entry, marked resolved
    assert "已整改 resolved · 青山教育" in body
    assert "tag:govmedia-monitor,2024:finding/" in body
    assert "<script>" not in body
    # every entry links to its finding's card on this desk, never about:blank or a scraped link
    links = re.findall(r'<link href="([^"]+)"/>', body)
    entry_links = [u for u in links if "/findings/" in u]
    assert len(entry_links) == body.count("<entry>")
    assert all(re.fullmatch(re.escape(desk.base) + r"/monitor/findings/\d+", u) for u in entry_links)
    assert "about:blank" not in body
    assert all(u.startswith(("http://", "https://")) for u in links)
    assert get(desk.base, urllib.parse.urlsplit(entry_links[0]).path)  # the card answers
    vetoes = get(desk.base, "/monitor/findings_feed.atom", {"severity": "veto"}).decode()
    assert (
        vetoes.count("<entry>")
        == desk.sql("SELECT count(*) AS n FROM findings WHERE severity = 'veto'")[0]["n"]
    )


# --- dashboard ------------------------------------------------------------------------------------


def test_dashboard_queries_answer(desk: Desk) -> None:
    meta = json.loads(get(desk.base, "/-/metadata.json"))
    charts = meta["plugins"]["datasette-dashboards"]["desk"]["charts"]
    assert {
        "stale_by_level",
        "stale_by_region",
        "closures_per_month",
        "findings_over_time",
        "dead_links_per_site",
    } <= set(charts)
    results = {}
    for slug, chart in charts.items():
        sql = re.sub(r"\[\[(.*?)\]\]", "", chart["query"])
        params = {"sql": sql, "_shape": "array"}
        results[slug] = json.loads(get(desk.base, "/monitor.json", params))
    stale = planted_stale(desk.crawl)
    assert (
        results["stale_count"] == [{"n": len(stale)}] == [{"n": len(detected(desk, "account.no_update_14d"))}]
    )
    levels = {(r["platform"], r["name"]): r["level"] for r in desk.sql("SELECT * FROM targets")}
    by_level = {(r["level"], r["state"]): r["accounts"] for r in results["stale_by_level"]}
    for level in {levels[k] for k in stale}:
        assert by_level[(level, label("update_state", "stale"))] == sum(levels[k] == level for k in stale)
    # legends read in Chinese, from core/labels.py
    assert {r["severity"] for r in results["findings_over_time"]} <= set(LABELS["severity"].values())
    assert results["closures_count"] == [{"n": len(planted_closures(desk.crawl))}]
    assert sum(r["notices"] for r in results["closures_per_month"]) == len(planted_closures(desk.crawl))
    dead = portal_planted(desk.crawl, "dead_link") + portal_planted(desk.crawl, "unreachable_column")
    assert {r["site"]: r["dead_links"] for r in results["dead_links_per_site"]} == {
        s: sum(p["target"] == s for p in dead) for s in {p["target"] for p in dead}
    }
    html = get(desk.base, "/-/dashboards/desk").decode()
    assert "巡检看板" in html


# --- safety ---------------------------------------------------------------------------------------


def test_time_limit_and_read_only(desk: Desk) -> None:
    settings = json.loads(get(desk.base, "/-/settings.json"))
    assert settings["sql_time_limit_ms"] <= 3000
    assert settings["suggest_facets"] is False  # too slow at scale; facets are configured per table
    plugins = {p["name"] for p in json.loads(get(desk.base, "/-/plugins.json"))}
    assert not {p for p in plugins if "write" in p or "upload" in p or "insert" in p}
    with pytest.raises(urllib.error.HTTPError) as err:
        get(desk.base, "/monitor.json", {"sql": "UPDATE targets SET name = 'x'"})
    assert err.value.code == 400
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    with pytest.raises(urllib.error.HTTPError) as err:
        get(desk.base, "/monitor.json", {"sql": endless})
    assert err.value.code == 400  # interrupted by the time limit, not left running


def test_password_protection(desk: Desk) -> None:
    db_path = desk.crawl.db_path
    # few iterations keep the test fast; `datasette hash-password` uses 480,000 (see README)
    hashed = hash_password("s3cret-desk", iterations=1000)
    proc, base = start_datasette(db_path, MONITOR_DESK_PASSWORD_HASH=hashed)
    try:
        paths = ("/monitor/stale_accounts.json", "/-/dashboards/desk", "/monitor/findings_feed.atom", "/")
        for path in paths:
            with pytest.raises(urllib.error.HTTPError) as err:
                get(base, path)
            assert err.value.code == 401
        wrong = base64.b64encode(b"inspector:nope").decode()
        with pytest.raises(urllib.error.HTTPError) as err:
            get(base, "/monitor/stale_accounts.json", headers={"Authorization": f"Basic {wrong}"})
        assert err.value.code == 401
        right = base64.b64encode(b"inspector:s3cret-desk").decode()
        auth = {"Authorization": f"Basic {right}"}
        rows = json.loads(get(base, "/monitor/stale_accounts.json", {"_shape": "array"}, auth))
        assert keys(rows) == planted_stale(desk.crawl)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_xss_post_stored_as_text(desk: Desk) -> None:
    params = {"_shape": "array", "title__startswith": "<script>"}
    rows = json.loads(get(desk.base, "/monitor/posts.json", params))
    assert [r["title"] for r in rows] == [XSS_TITLE]
    page = get(desk.base, f"/monitor/posts/{rows[0]['id']}").decode()
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page


# --- the desk in Chinese, its parameters, its drill-downs ------------------------------------------


def canned_queries(desk: Desk) -> dict[str, dict[str, Any]]:
    meta = json.loads(get(desk.base, "/-/metadata.json"))
    return meta["databases"]["monitor"]["queries"]  # type: ignore[no-any-return]


def test_query_pages_in_chinese(desk: Desk) -> None:
    html = get(desk.base, "/monitor/stale_accounts").decode()
    headers = re.findall(r'<th class="col-([a-z_]+)" scope="col" title="\1">([^<]+)<', html)
    assert dict(headers)["name"] == "名称"
    assert dict(headers)["newest_post_at"] == "最新发文"
    assert all(not re.fullmatch(r"[a-z_]+", text) for _, text in headers)  # no snake_case header left
    assert "<label" in html
    assert "层级 <span" in html  # parameters labelled in Chinese
    for name, q in canned_queries(desk).items():  # every canned query's headers, not one
        page = get(
            desk.base, f"/monitor/{name}", {"q": "停止发布信息"} if "q" in q["params"] else None
        ).decode()
        found = re.findall(r'scope="col" title="([a-z_]+)">([^<]+)<', page)
        assert found, name
        assert [c for c, text in found if text == c] == [], name
    # codes and flags read in Chinese, times as 2026-06-10 12:00
    stale = get(desk.base, "/monitor/stale_accounts").decode()
    assert "T12:00:00+08:00</" not in stale
    assert re.search(r"<span>2026-\d\d-\d\d</span> <span>\d\d:\d\d</span>", stale)
    assert ">微博<" in stale
    assert ">weibo<" not in stale
    zombies = get(desk.base, "/monitor/zombie_accounts").decode()
    assert '<span class="flag flag-1">是</span>' in zombies  # only_closure_notices_in_year = 1
    closures = get(desk.base, "/monitor/closure_notices").decode()
    assert ">已关停<" in closures
    assert ">closed<" not in closures


def test_csv_opens_in_chinese_excel(desk: Desk) -> None:
    for path in ("/monitor/stale_accounts.csv", "/monitor/findings.csv", "/monitor/scorecard.csv?_dl=1"):
        body = get(desk.base, path)
        assert body.startswith(b"\xef\xbb\xbf"), path  # the UTF-8 BOM Excel needs to read it as UTF-8
        assert "名称" in body.decode("utf-8-sig") or "target_id" in body.decode("utf-8-sig")
    rows = body.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("target_id,")  # the BOM comes before the header, not inside it


def test_parameters_accepted_as_the_importer_accepts_them(desk: Desk) -> None:
    county = query(desk, "stale_accounts", level="县级")
    assert county
    for alias in ("county", "County", "district"):
        assert query(desk, "stale_accounts", level=alias) == county, alias
    assert query(desk, "scorecard", level="city") == query(desk, "scorecard", level="市级")
    assert query(desk, "findings_list", severity="单项否决") == query(desk, "findings_list", severity="veto")
    assert query(desk, "stale_accounts", platform="微博") == query(desk, "stale_accounts", platform="weibo")
    # the page shows the value it searched for
    assert 'value="县级"' in get(desk.base, "/monitor/stale_accounts", {"level": "county"}).decode()


@pytest.mark.parametrize(
    ("name", "params", "words"),
    [
        ("findings_list", {"since": "2026-13-45"}, "YYYY-MM-DD"),
        ("closure_notices", {"until": "30/06/2026"}, "YYYY-MM-DD"),
        ("findings_list", {"since": "2026-07-01", "until": "2026-06-01"}, "早于"),
        ("closure_notices", {"month": "2026-6"}, "YYYY-MM"),
        ("stale_accounts", {"level": "prefectural"}, "层级应为"),
        ("findings_list", {"severity": "fatal"}, "单项否决"),
        ("changes_since_last_run", {"run_id": "last"}, "整数"),
        ("search_posts", {"q": "注销"}, "至少需要 3 个字"),
    ],
)
def test_bad_parameters_say_why(desk: Desk, name: str, params: dict[str, str], words: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        query(desk, name, **params)
    assert err.value.code == 400
    assert words in json.loads(err.value.read())["error"]
    html = get(desk.base, f"/monitor/{name}", params).decode()
    assert 'class="desk-problems"' in html
    assert words in html


def test_findings_list_filters(desk: Desk) -> None:
    everything = query(desk, "findings_list")
    n = desk.sql("SELECT count(*) AS n FROM findings")[0]["n"]
    assert len(everything) == min(n, 1000)
    open_vetoes = query(desk, "findings_list", severity="veto", state="open")
    assert len(open_vetoes) == len(
        desk.sql("SELECT id FROM findings WHERE severity = 'veto' AND resolved_at IS NULL")
    )
    month = everything[0]["first_seen_at"][:7]
    assert {r["first_seen_at"][:7] for r in query(desk, "findings_list", month=month)} == {month}
    day = AS_OF[:10]
    since = query(desk, "findings_list", since=day, until=day)
    assert since
    assert {r["first_seen_at"][:10] for r in since} == {day}
    org = next(r["org"] for r in everything if r["org"])
    assert {r["org"] for r in query(desk, "findings_list", org=org[:4])} >= {org}
    target = everything[0]["target_id"]
    assert {r["target_id"] for r in query(desk, "findings_list", target=str(target))} == {target}


def dashboard_charts(desk: Desk) -> dict[str, dict[str, Any]]:
    meta = json.loads(get(desk.base, "/-/metadata.json"))
    return meta["plugins"]["datasette-dashboards"]["desk"]["charts"]  # type: ignore[no-any-return]


def chart_rows(desk: Desk, chart: dict[str, Any], **filters: str) -> list[dict[str, Any]]:
    def keep(m: re.Match[str]) -> str:
        return m.group(1) if any(f":{k}" in m.group(1) for k in filters) else ""

    sql = re.sub(r"\[\[(.*?)\]\]", keep, chart["query"])
    return json.loads(get(desk.base, "/monitor.json", {"sql": sql, "_shape": "array", **filters}))  # type: ignore[no-any-return]


def rows_at(desk: Desk, path: str) -> list[dict[str, Any]]:
    """The rows a drill-down link opens, through the same canned query as JSON."""
    parts = urllib.parse.urlsplit(path)
    params = dict(urllib.parse.parse_qsl(parts.query))
    return query(desk, parts.path.rsplit("/", 1)[1], **params)


@pytest.mark.parametrize("filters", [{}, {"region": "临江市"}, {"level": "县级"}])
def test_every_dashboard_card_opens_its_rows(desk: Desk, filters: dict[str, str]) -> None:
    charts = dashboard_charts(desk)
    counts = {"open_vetoes", "stale_count", "closures_count", "dead_links_count"}
    for slug in counts:
        chart = charts[slug]
        path = (
            chart["drilldown"] + ("&" if "?" in chart["drilldown"] else "?") + urllib.parse.urlencode(filters)
        )
        assert len(rows_at(desk, path)) == chart_rows(desk, chart, **filters)[0]["n"], (slug, filters)
    # every bar carries the link to the rows it counts
    value_of = {
        "stale_by_level": "accounts",
        "stale_by_region": "accounts",
        "closures_per_month": "notices",
        "findings_over_time": "findings",
        "dead_links_per_site": "dead_links",
        "pass_rate_by_level": "targets",
    }
    for slug, field in value_of.items():
        rows = chart_rows(desk, charts[slug], **filters)
        assert rows, slug
        for r in rows:
            assert r["drill"].startswith("/monitor/"), (slug, r)
            assert len(rows_at(desk, r["drill"])) == r[field], (slug, r)


def test_headline_pass_rate_and_portal_availability(desk: Desk) -> None:
    charts = dashboard_charts(desk)
    scores = desk.sql("SELECT verdict, level FROM target_scores")
    checkable = [s for s in scores if s["verdict"] != "无法检查"]
    rate = round(100 * sum(s["verdict"] == "合格" for s in checkable) / len(checkable), 1)
    assert chart_rows(desk, charts["pass_rate"]) == [{"rate": f"{rate}%"}]
    scorecard = query(desk, "scorecard")  # the card's list: every target with its verdict
    assert len(scorecard) == len(scores)
    by_level = {r["level"]: r["pass_rate"] for r in chart_rows(desk, charts["pass_rate_by_level"])}
    levels = desk.sql(
        "SELECT level, sum(failing) AS f, sum(targets) - sum(unchecked) AS c FROM level_scores GROUP BY level"
    )
    for row in levels:  # the same roll-up as detection's level_scores
        if row["c"]:
            assert by_level[row["level"]] == round(100 * (row["c"] - row["f"]) / row["c"], 1), row
    portals = query(desk, "portal_availability")
    probed = [p for p in portals if p["latest_probe_at"]]
    down = {p["name"] for p in probed if p["unreachable"]}
    assert down == {p["target"] for p in portal_planted(desk.crawl, "unreachable")}
    share = round(100 * (len(probed) - len(down)) / len(probed), 1)
    assert chart_rows(desk, charts["portal_availability"]) == [{"rate": f"{share}%"}]


def test_finding_card(desk: Desk) -> None:
    finding = desk.sql(
        "SELECT f.id, f.label, f.indicator, t.name, t.org FROM findings f "
        "JOIN targets t ON t.id = f.target_id "
        "WHERE f.rule = 'portal.unanswered_message' AND f.resolved_at IS NULL"
    )[0]
    html = get(desk.base, f"/monitor/findings/{finding['id']}").decode()
    for text in (
        finding["label"],
        finding["indicator"],
        finding["name"],
        finding["org"],
        "单项否决",
        "国办秘函",
    ):
        assert text in html, text
    assert "证据" in html
    assert "取证" in html
    assert "历史" in html
    assert '{"' not in html  # the evidence is a list, not a JSON blob
    captures = desk.sql(
        "SELECT sha256, kind FROM evidence WHERE finding_id = ? AND path IS NOT NULL", (finding["id"],)
    )
    assert {c["kind"] for c in captures} == {"html", "png"}
    for c in captures:
        assert f"/-/evidence/{c['sha256']}.{c['kind']}" in html
        assert get(desk.base, f"/-/evidence/{c['sha256']}.{c['kind']}")


def test_target_card(desk: Desk) -> None:
    target = desk.sql("SELECT * FROM target_scores WHERE verdict = '不合格' AND platform = 'portal' LIMIT 1")[
        0
    ]
    html = get(desk.base, f"/monitor/targets/{target['target_id']}").decode()
    assert target["name"] in html
    assert target["org"] in html
    assert "不合格" in html
    assert "扣分明细" in html
    assert "未整改问题" in html
    assert "最近检测" in html
    for f in desk.sql(
        "SELECT id FROM findings WHERE target_id = ? AND resolved_at IS NULL", (target["target_id"],)
    ):
        assert f'href="/monitor/findings/{f["id"]}"' in html
    for b in desk.sql("SELECT label FROM score_breakdown WHERE target_id = ?", (target["target_id"],)):
        assert b["label"] in html


# --- a real browser -------------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHARTS = (
    "stale_by_level",
    "stale_by_region",
    "closures_per_month",
    "findings_over_time",
    "dead_links_per_site",
)
# a chart rendered when its card holds an SVG with marks, or a canvas with painted pixels
PAINTED = """(el) => {
  const svg = el.querySelector('svg');
  if (svg && svg.querySelectorAll('path, rect').length > 0) return true;
  const c = el.querySelector('canvas');
  if (!c || !c.width || !c.height) return false;
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return painted > 500;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    yield pg
    context.close()


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"desk-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def not_pwned(page: Any) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"


@pytest.mark.browser
def test_browser_dashboard_renders_charts(desk: Desk, page: Any) -> None:
    page.goto(f"{desk.base}/-/dashboards/desk", wait_until="networkidle")
    for slug in CHARTS:
        card = page.locator(f"#chart-{slug}")
        card.locator("svg, canvas").first.wait_for(timeout=20_000)
        page.wait_for_function(f"({PAINTED})(document.querySelector('#chart-{slug}'))", timeout=20_000)
    # the metric cards show the planted numbers
    stale = planted_stale(desk.crawl)
    closures = planted_closures(desk.crawl)
    assert page.locator("#chart-stale_count").inner_text().strip() == str(len(stale))
    assert page.locator("#chart-closures_count").inner_text().strip() == str(len(closures))
    # a filter narrows every chart: in 临江市 (with 临江市青山区) only 青山住建 published closure notices
    regions = {(r["platform"], r["name"]): r["region_name"] for r in desk.sql("SELECT * FROM targets")}
    in_linjiang = sum(regions[k].startswith("临江市") for k in closures)
    assert 0 < in_linjiang < len(closures)
    page.select_option("select#region", "临江市")
    page.locator("input[type=submit]").click()
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        f"document.querySelector('#chart-closures_count').innerText.trim() === '{in_linjiang}'"
    )
    assert "region=" in page.url
    shot(page, "dashboard")
    not_pwned(page)
    assert page.errors == []


@pytest.mark.browser
def test_browser_facets_search_and_escaping(desk: Desk, page: Any) -> None:
    page.goto(f"{desk.base}/monitor/open_findings", wait_until="networkidle")
    facets = page.locator(".facet-info")
    assert facets.count() >= 5
    level_facet = page.locator(".facet-info[data-column=level]")
    assert "县级" in level_facet.inner_text()
    page.locator(".facet-info[data-column=level] a", has_text="县级").first.click()
    page.wait_for_load_state("networkidle")
    assert "level=" in page.url
    county = desk.sql(
        "SELECT count(*) AS n FROM findings f JOIN targets t ON t.id = f.target_id "
        "WHERE f.resolved_at IS NULL AND t.level = '县级'"
    )[0]["n"]
    assert f"{county} rows" in page.locator("h3").first.inner_text()
    shot(page, "open-findings-facets")

    page.goto(f"{desk.base}/monitor/closure_notices", wait_until="networkidle")
    assert page.locator("table.rows-and-columns tbody tr").count() == len(planted_closures(desk.crawl))
    shot(page, "closure-notices")
    page.goto(f"{desk.base}/monitor/scorecard", wait_until="networkidle")
    assert "不合格" in page.locator("table.rows-and-columns").inner_text()
    shot(page, "scorecard")

    page.goto(f"{desk.base}/monitor/search_posts?q=停止发布信息", wait_until="networkidle")
    marks = page.locator("td mark")
    hits = query(desk, "search_posts", q="停止发布信息")  # the closed account's notice on each platform
    assert marks.count() == len(hits) > 0
    assert {marks.nth(i).inner_text() for i in range(marks.count())} == {"停止发布信息"}
    shot(page, "search")

    # the script-bearing post: table search, search query, filtered table — shown, never run
    for url in (
        f"{desk.base}/monitor/posts?_search=防汛救灾工作简报",
        f"{desk.base}/monitor/search_posts?q=防汛救灾工作简报",
        f"{desk.base}/monitor/posts?" + urllib.parse.urlencode({"title__startswith": "<script>"}),
    ):
        page.goto(url, wait_until="networkidle")
        not_pwned(page)
        assert "window.__pwned=1" in page.content()  # present as text
    page.goto(f"{desk.base}/monitor/findings_feed.atom", wait_until="networkidle")
    not_pwned(page)  # scraped notice text quoted in the feed's evidence
    page.goto(f"{desk.base}/monitor/posts?_search=防汛救灾工作简报", wait_until="networkidle")
    assert page.get_by_text("<script>window.__pwned=1</script>防汛救灾工作简报").count() >= 1
    shot(page, "xss-post-escaped")
    not_pwned(page)
    assert page.errors == []


# one line box per element: a name that wrapped has several
ONE_LINE = (
    "(el) => el.getClientRects().length === 1"
    " && el.getBoundingClientRect().width > 1.5 * parseFloat(getComputedStyle(el).fontSize)"
)
LINKS = "(root) => [...root.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"


def assert_links_safe(hrefs: list[str]) -> None:
    for href in hrefs:
        assert href.startswith(("http://", "https://", "/", "?", "#")), href


@pytest.mark.browser
def test_browser_finding_card(desk: Desk, page: Any) -> None:
    f = desk.sql(
        "SELECT f.id, f.label, t.name, t.org FROM findings f JOIN targets t ON t.id = f.target_id "
        "WHERE f.rule = 'portal.unanswered_message' AND f.resolved_at IS NULL"
    )[0]
    page.goto(f"{desk.base}/monitor/findings/{f['id']}", wait_until="networkidle")
    card = page.locator("article.finding-card")
    assert card.locator("h1").inner_text() == f["label"]
    name = card.locator("a.target-name")
    assert name.inner_text() == f["name"]
    assert name.evaluate(ONE_LINE)  # the name reads whole, not one character per line
    assert card.locator(".org").inner_text() == f["org"]
    assert card.locator(".badge.sev-veto").inner_text() == "单项否决"
    evidence = card.locator("section.evidence")
    assert "{" not in evidence.inner_text()  # rendered, not a JSON blob
    assert "2026-" in evidence.inner_text()
    assert "T12:00:00" not in evidence.inner_text()
    links = evidence.evaluate(LINKS)
    assert links
    assert_links_safe(links)
    assert all(h.startswith("http") for h in links)  # the evidence's pages are clickable
    # the capture: screenshot shown, page source kept
    shot_img = card.locator(".capture img").first
    shot_img.wait_for()
    assert shot_img.evaluate("(img) => img.complete && img.naturalWidth > 100")
    assert "取证时间" in card.locator(".captures-section").inner_text()
    assert card.locator("section.history td").first.inner_text().startswith("2026-")
    assert "发现" in card.locator("section.history").inner_text()
    assert_links_safe(card.evaluate(LINKS))
    shot(page, "finding-card")
    # the kept page opens sandboxed: its scripts cannot run on the desk's origin
    with page.expect_navigation() as nav:
        card.locator("a.capture-html").first.click()
    response = nav.value
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert page.errors == []


@pytest.mark.browser
def test_browser_target_card(desk: Desk, page: Any) -> None:
    t = desk.sql(
        "SELECT s.target_id, s.name, s.verdict FROM target_scores s "
        "WHERE s.platform = 'portal' AND s.verdict = '不合格' AND s.deductions > 0 LIMIT 1"
    )[0]
    page.goto(f"{desk.base}/monitor/targets/{t['target_id']}", wait_until="networkidle")
    card = page.locator("article.target-card")
    assert card.locator("h1").inner_text() == t["name"]
    assert card.locator("h1").evaluate(ONE_LINE)
    assert card.locator(".badge.v-不合格").first.inner_text() == "不合格"
    breakdown = desk.sql("SELECT label FROM score_breakdown WHERE target_id = ?", (t["target_id"],))
    assert card.locator("section.breakdown tbody tr").count() == len(breakdown)
    open_count = desk.sql(
        "SELECT count(*) AS n FROM findings WHERE target_id = ? AND resolved_at IS NULL", (t["target_id"],)
    )[0]["n"]
    assert card.locator("section.open-findings tbody tr").count() == open_count
    assert card.locator("section.checks tbody tr").count() > 0
    assert "首页探测" in card.locator("section.checks").inner_text()
    assert_links_safe(card.evaluate(LINKS))
    shot(page, "target-card")
    card.locator("a.finding-link").first.click()
    page.wait_for_load_state("networkidle")
    assert "/monitor/findings/" in page.url
    assert page.locator("article.finding-card").count() == 1
    assert page.errors == []


@pytest.mark.browser
def test_browser_dashboard_drills_down(desk: Desk, page: Any) -> None:
    home = get(desk.base, "/").decode()
    assert "\U0001f4ca" not in home  # no emoji the inspector's fonts may lack
    assert 'class="desk-icon"' in home
    page.goto(f"{desk.base}/-/dashboards/desk", wait_until="networkidle")
    for slug in ("pass_rate", "portal_availability"):
        page.wait_for_function(f"document.querySelector('#chart-{slug}').innerText.trim().endsWith('%')")
    stale = page.locator("#chart-stale_count")
    stale.locator("p").wait_for()
    n = int(stale.inner_text().strip())
    page.locator("#card-stale_count").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/monitor/stale_accounts")
    assert page.locator("table.rows-and-columns tbody tr").count() == n
    # a bar opens the accounts it counts
    page.goto(f"{desk.base}/-/dashboards/desk?level=县级", wait_until="networkidle")
    bar = page.locator("#chart-stale_by_level svg g.mark-rect path").first
    bar.wait_for(timeout=20_000)
    with page.expect_navigation():
        bar.click()
    page.wait_for_load_state("networkidle")
    assert "/monitor/accounts?" in page.url
    drill = urllib.parse.unquote(page.url.split(desk.base, 1)[1])
    counted = {
        r["drill"]: r["accounts"]
        for r in chart_rows(desk, dashboard_charts(desk)["stale_by_level"], level="县级")
    }
    assert page.locator("table.rows-and-columns tbody tr").count() == counted[drill]
    assert "更新状况" in page.locator("table.rows-and-columns thead").inner_text()
    shot(page, "dashboard-drilldown")
    assert page.errors == []


@pytest.mark.browser
def test_browser_canned_query_reads_in_chinese(desk: Desk, page: Any) -> None:
    page.goto(f"{desk.base}/monitor/closure_notices", wait_until="networkidle")
    table = page.locator("table.rows-and-columns")
    headers = table.locator("thead th").evaluate_all(
        "(ths) => ths.map(th => th.firstChild.textContent.trim())"
    )
    assert "名称" in headers
    assert "公告标题" in headers
    assert "生效日期" in headers
    assert not [h for h in headers if re.fullmatch(r"[a-z_]+", h)]
    names = table.locator("td.col-name .name")
    assert names.count() == len(planted_closures(desk.crawl))
    for i in range(names.count()):
        assert names.nth(i).evaluate(ONE_LINE), names.nth(i).inner_text()
    text = table.inner_text()
    assert "closed" not in text
    assert "已关停" in text
    assert "+08:00" not in text
    assert "T12:00" not in text
    assert table.evaluate("(t) => t.getBoundingClientRect().right <= window.innerWidth")  # fits the screen
    assert_links_safe(table.evaluate(LINKS))
    assert page.locator("a.csv-download").count() == 1
    shot(page, "canned-query")
    assert page.errors == []
