"""The Datasette desk: canned queries, views, dashboard, Atom feed, password protection, escaping.

One real crawl of the demo world (scrapy import-targets + scrapy crawl feed, subprocesses) feeds real
Datasette for the whole module; findings and portal rows come from the stand-ins in tests/desk_data.py
until detection and the portal spider land. Browser tests drive headless Chromium through Playwright.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from datasette_auth_passwords.utils import hash_password

from crawler.demo.run import wait_for_port
from db.serve import datasette_command
from tests.conftest import start_world
from tests.desk_data import (
    PORTAL_NAME,
    XSS_TITLE,
    add_portal_target,
    add_standin_findings,
    add_standin_portal,
    plant_xss_post,
)
from tests.helpers import AS_OF, ROOT, free_port, run_scrapy

ARTIFACTS = ROOT / "test-artifacts"


@dataclass
class Desk:
    base: str
    db_path: Path
    standin: dict[str, Any]
    portal: dict[str, Any]


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


DeskDb = tuple[Path, dict[str, Any], dict[str, Any]]


@pytest.fixture(scope="module")
def desk_db(tmp_path_factory: pytest.TempPathFactory) -> DeskDb:
    tmp = tmp_path_factory.mktemp("desk")
    dw, server = start_world(tmp)
    try:
        plant_xss_post(dw.world)
        add_portal_target(dw.targets_file, dw.base)
        db_path = tmp / "monitor.db"
        run_scrapy("import-targets", str(dw.targets_file), db_path=db_path)
        run_scrapy("crawl", "feed", db_path=db_path)
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
    portal = add_standin_portal(db_path, dw.base)
    standin = add_standin_findings(db_path)
    return db_path, standin, portal


@pytest.fixture(scope="module")
def desk(desk_db: DeskDb) -> Iterator[Desk]:
    db_path, standin, portal = desk_db
    proc, base = start_datasette(db_path)
    try:
        yield Desk(base, db_path, standin, portal)
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
    rows = json.loads(get(desk.base, f"/monitor/{name}.json", {**params, "_shape": "array"}))
    assert isinstance(rows, list), rows
    return rows


def names(rows: list[dict[str, Any]], key: str = "name") -> list[str]:
    return [r[key] for r in rows]


# --- canned queries against what the demo world plants ------------------------------------------


def test_stale_accounts_are_exactly_the_planted_ones(desk: Desk) -> None:
    rows = query(desk, "stale_accounts")
    # oldest first; deleted / login wall / dead link / malformed / unreachable are unavailable, not stale
    assert names(rows) == ["河口科协", "青山住建", "青山教育"]
    by = {r["name"]: r for r in rows}
    assert by["青山教育"]["days_since_post"] == pytest.approx(20, abs=0.01)
    assert by["青山住建"]["days_since_post"] == pytest.approx(30, abs=0.01)
    assert {r["as_of"] for r in rows} == {AS_OF}
    assert {r["threshold_days"] for r in rows} == {14}


def test_stale_accounts_parameters(desk: Desk) -> None:
    assert names(query(desk, "stale_accounts", days="25")) == ["河口科协", "青山住建"]
    assert names(query(desk, "stale_accounts", region="临江市")) == ["青山住建", "青山教育"]
    assert names(query(desk, "stale_accounts", region="990121")) == ["河口科协"]
    assert names(query(desk, "stale_accounts", level="县级")) == ["河口科协", "青山住建", "青山教育"]
    assert query(desk, "stale_accounts", level="市级") == []
    assert query(desk, "stale_accounts", platform="wechat") == []
    # a later check time makes every account stale that has not posted since
    later = query(desk, "stale_accounts", as_of="2026-08-30T12:00:00+08:00")
    assert len(later) == 10  # the 10 reachable feed accounts; the 5 unavailable ones never


def test_zombie_accounts(desk: Desk) -> None:
    rows = query(desk, "zombie_accounts")
    assert names(rows) == ["河口科协"]
    row = rows[0]
    assert row["days_since_regular_post"] > 365  # only the stop notice in the last year
    assert row["detection_flagged"] == 1
    assert row["newest_post_at"] > row["newest_regular_post_at"]  # the notice itself is newer


def test_closure_notices_newest_first_with_successor(desk: Desk) -> None:
    rows = query(desk, "closure_notices")
    assert names(rows) == ["云川卫健", "青山住建", "河口科协"]
    by = {r["name"]: r for r in rows}
    closed = by["青山住建"]
    assert closed["migration_target"] == PORTAL_NAME
    assert closed["migration_url"] == "http://www.linjiang.gov.cn/"
    assert closed["in_effect"] == 1
    assert closed["successor_platform"] == "portal"
    assert closed["successor_newest_at"] is not None
    assert "关停" in closed["notice_title"] or "注销" in closed["notice_title"]
    closing = by["云川卫健"]
    assert closing["in_effect"] == 0  # announced for 20 days after the check
    assert closing["migration_target"] == "云川发布"
    assert closing["successor_platform"] == "feed"
    assert closing["successor_newest_at"] > "2026-06-27"  # the successor is alive
    assert by["河口科协"]["successor_target_id"] is None  # 河口发布 is not monitored
    assert names(query(desk, "closure_notices", region="临江市")) == ["青山住建"]


def test_portal_columns(desk: Desk) -> None:
    overdue = query(desk, "overdue_columns")
    assert sorted(r["column_name"] for r in overdue) == ["乡镇动态", "政策文件", "部门动态"]
    assert {r["site"] for r in overdue} == {PORTAL_NAME}
    assert {r["overdue_on_site"] for r in overdue} == {3}
    assert names(query(desk, "overdue_columns", kind="政策文件"), "column_name") == ["政策文件"]
    # a stricter local profile: news columns within 1 day
    strict = query(desk, "overdue_columns", news_days="1")
    assert "要闻动态" in names(strict, "column_name")
    blank = query(desk, "blank_columns")
    assert sorted(r["column_name"] for r in blank) == ["专题专栏", "规划计划"]
    assert {r["blank_on_site"] for r in blank} == {2}


def test_dead_links_by_site(desk: Desk) -> None:
    rows = query(desk, "dead_links_by_site")
    home = desk.portal["home"]
    assert [(r["url"], r["on_homepage"], r["outcome"]) for r in rows] == [
        (f"{home}broken.html", 1, "not_found"),
        (f"{home}slow.pdf", 0, "timeout"),
    ]
    assert {r["dead_on_site"] for r in rows} == {2}
    # the feed crawl's own dead feed (河口文旅) is a feed check, not a portal link
    assert query(desk, "dead_links_by_site", site="河口") == []


def test_unanswered_messages(desk: Desk) -> None:
    rows = query(desk, "unanswered_messages")
    assert names(rows, "message_id") == ["m-old-open"]
    assert rows[0]["days_open"] == pytest.approx(100, abs=0.01)
    lenient = query(desk, "unanswered_messages", days="20")
    assert names(lenient, "message_id") == ["m-old-open", "m-recent-open"]


def test_scorecard_official_logic(desk: Desk) -> None:
    rows = query(desk, "scorecard")
    by = {r["name"]: r for r in rows}
    assert len(rows) == 16  # 15 feed accounts + the portal
    for name in ("青山教育", "河口科协", "青山住建"):
        assert by[name]["verdict"] == "不合格"
        assert by[name]["score"] is None
    assert by["河口科协"]["vetoes"] == 2
    assert by["临江发布"]["verdict"] == "合格"
    assert by["临江发布"]["score"] == 95  # update_gaps −5
    assert by["临江文旅"]["score"] == 100  # info findings never cost points
    assert by["云川卫健"]["score"] == 100  # its deduction was resolved
    assert by["云川生态环境"]["verdict"] == "无法检查"  # deleted: not checkable, not "合格"
    portal = by[PORTAL_NAME]
    assert portal["verdict"] == "不合格"  # unanswered message is a veto
    assert portal["deducted"] == 4.0  # homepage dead link −1, 30 other dead links × 0.1 = −3
    assert rows[0]["verdict"] == "不合格"  # failures first
    assert names(query(desk, "scorecard", scope="portal")) == [PORTAL_NAME]


def test_league_table(desk: Desk) -> None:
    rows = query(desk, "league_table")
    by = {(r["region_name"], r["level"]): r for r in rows}
    qingshan = by[("临江市青山区", "县级")]
    assert qingshan["targets"] == 3  # 青山教育, 青山住建, 青山科协
    assert qingshan["failed"] == 2
    assert qingshan["failed_pct"] == pytest.approx(66.7)
    assert rows[0]["failed_pct"] >= rows[-1]["failed_pct"]
    assert sum(r["targets"] for r in rows) == 16


def test_changes_since_last_run(desk: Desk) -> None:
    rows = query(desk, "changes_since_last_run")
    assert {r["run_id"] for r in rows} == {desk.standin["run2"]}
    new = {(r["target_name"], r["rule"]) for r in rows if r["change"].startswith("new")}
    resolved = {(r["target_name"], r["rule"]) for r in rows if r["change"].startswith("resolved")}
    assert new == {("青山住建", "account.closure_notice"), (PORTAL_NAME, "portal.dead_link_homepage")}
    assert resolved == {("云川卫健", "account.update_gaps")}
    earlier = query(desk, "changes_since_last_run", run_id=str(desk.standin["run1"]))
    assert len([r for r in earlier if r["change"].startswith("new")]) == 13


def test_search_posts_highlights(desk: Desk) -> None:
    rows = query(desk, "search_posts", q="停止发布信息")
    assert len(rows) == 1
    assert rows[0]["account"] == "青山住建"
    assert "\ue000停止发布信息\ue001" in rows[0]["snippet"]
    html = get(desk.base, "/monitor/search_posts", {"q": "停止发布信息"}).decode()
    assert "<mark>停止发布信息</mark>" in html
    assert query(desk, "search_posts", q="停止") == []  # trigram: fewer than 3 characters find nothing
    scripted = get(desk.base, "/monitor/search_posts", {"q": "防汛救灾工作简报"}).decode()
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in scripted
    assert "<script>window.__pwned" not in scripted


# --- views, facets, metadata ---------------------------------------------------------------------


def test_findings_view_facets_and_labels(desk: Desk) -> None:
    data = json.loads(get(desk.base, "/monitor/open_findings.json", {"_shape": "objects"}))
    facets = data["facet_results"]
    assert {"rule_label", "severity", "region_name", "level", "platform"} <= set(facets)
    levels = {f["value"]: f["count"] for f in facets["level"]["results"]}
    assert levels["县级"] == 6  # 青山教育, 河口科协 ×3, 青山住建 ×2 (open)
    labels = {f["value"] for f in facets["rule_label"]["results"]}
    assert "监测时间点前2周内无更新" in labels
    assert data["filtered_table_rows_count"] == 14  # 15 stand-in findings, one resolved
    rules = json.loads(get(desk.base, "/monitor/finding_rules.json", {"_shape": "array", "_size": "100"}))
    assert {r["rule"] for r in rules} >= {"account.no_update_14d", "portal.dead_links", "portal.unreachable"}
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
    assert body.count("<entry>") == 15
    assert "已整改 resolved · 云川卫健" in body
    assert "tag:govmedia-monitor,2024:finding/" in body
    assert "<script>" not in body  # scraped text quoted in evidence is escaped
    assert "&lt;script&gt;window.__pwned=1" in body
    vetoes = get(desk.base, "/monitor/findings_feed.atom", {"severity": "veto"}).decode()
    assert vetoes.count("<entry>") == 5


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
        params = {"sql": sql, "_shape": "array", "as_of": ""}
        results[slug] = json.loads(get(desk.base, "/monitor.json", params))
    stale = {(r["level"], r["state"]): r["accounts"] for r in results["stale_by_level"]}
    assert stale[("县级", "停更 stale")] == 3
    assert stale[("县级", "无法访问 unavailable")] == 2  # 青山科协 (malformed feed), 河口文旅 (404)
    assert results["stale_count"] == [{"n": 3}]
    assert results["closures_count"] == [{"n": 3}]
    assert {r["site"]: r["dead_links"] for r in results["dead_links_per_site"]} == {PORTAL_NAME: 2}
    assert sum(r["notices"] for r in results["closures_per_month"]) == 3
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


def test_password_protection(desk_db: DeskDb) -> None:
    db_path = desk_db[0]
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
        assert names(rows) == ["河口科协", "青山住建", "青山教育"]
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
    assert page.locator("#chart-stale_count").inner_text().strip() == "3"
    assert page.locator("#chart-closures_count").inner_text().strip() == "3"
    # a filter narrows every chart: 临江市 has no closure notice but 青山住建's (临江市青山区)
    page.select_option("select#region", "临江市")
    page.locator("input[type=submit]").click()
    page.wait_for_load_state("networkidle")
    page.wait_for_function("document.querySelector('#chart-closures_count').innerText.trim() === '1'")
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
    assert "6 rows" in page.locator("h3").first.inner_text()
    shot(page, "open-findings-facets")

    page.goto(f"{desk.base}/monitor/closure_notices", wait_until="networkidle")
    assert page.locator("table.rows-and-columns tbody tr").count() == 3
    shot(page, "closure-notices")
    page.goto(f"{desk.base}/monitor/scorecard", wait_until="networkidle")
    assert "不合格" in page.locator("table.rows-and-columns").inner_text()
    shot(page, "scorecard")

    page.goto(f"{desk.base}/monitor/search_posts?q=停止发布信息", wait_until="networkidle")
    marks = page.locator("td mark")
    assert marks.count() == 1
    assert marks.first.inner_text() == "停止发布信息"
    shot(page, "search")

    # the script-bearing post: table search, search query, row page, findings feed — shown, never run
    for url in (
        f"{desk.base}/monitor/posts?_search=防汛救灾工作简报",
        f"{desk.base}/monitor/search_posts?q=防汛救灾工作简报",
        f"{desk.base}/monitor/findings_feed?rule=account.update_gaps",
        f"{desk.base}/monitor/findings_feed.atom",
    ):
        page.goto(url, wait_until="networkidle")
        not_pwned(page)
        assert "window.__pwned=1" in page.content()  # present as text
    page.goto(f"{desk.base}/monitor/posts?_search=防汛救灾工作简报", wait_until="networkidle")
    assert page.get_by_text("<script>window.__pwned=1</script>防汛救灾工作简报").count() >= 1
    shot(page, "xss-post-escaped")
    not_pwned(page)
    assert page.errors == []
