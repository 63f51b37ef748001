"""`scrapy report` through its entry point: the workbook and the printable page hold detection's verdicts
and findings for the scope and period asked for, compared with the shared crawl's own rows."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from core.labels import label
from crawler.reporting.xlsx import FAILING_SHEET, SUMMARY_SHEET, sheet_title
from tests.conftest import Crawl
from tests.helpers import run_scrapy
from tests.test_desk import browser, page, shot  # noqa: F401  (the browser fixtures)


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def report(crawl: Crawl, out: Path, *args: str) -> str:
    proc = run_scrapy("report", "--out", str(out), *args, db_path=crawl.db_path)
    assert out.exists()
    return proc.stdout


def sheet_rows(ws: Any) -> list[dict[str, Any]]:
    values = list(ws.iter_rows(values_only=True))
    header = values[0]
    return [dict(zip(header, r, strict=True)) for r in values[1:]]


def test_workbook_holds_detections_verdicts_and_findings(world_crawl: Crawl, tmp_path: Path) -> None:
    out = tmp_path / "通报.xlsx"
    printed = report(world_crawl, out, "--format", "xlsx", "--desk-url", "http://desk.example:8001/")
    scores = rows(world_crawl.db_path, "SELECT * FROM target_scores")
    verdicts = Counter(s["verdict"] for s in scores)
    assert f"{len(scores)} targets" in printed
    wb = load_workbook(out)
    assert wb.sheetnames[:2] == [SUMMARY_SHEET, FAILING_SHEET]
    # 汇总: the totals and 合格率 as detection's verdicts give them
    summary = list(wb[SUMMARY_SHEET].iter_rows(values_only=True))
    header = summary[5]
    assert header[:7] == ("总体", "对象数", "可检查", "合格", "不合格", "无法检查", "合格率（%）")
    total = summary[6]
    checkable = len(scores) - verdicts["无法检查"]
    assert total[1:6] == (len(scores), checkable, verdicts["合格"], verdicts["不合格"], verdicts["无法检查"])
    assert total[6] == round(100 * verdicts["合格"] / checkable, 1)
    # 不合格对象: every failing target, once, with the indicator it failed and a link to its evidence
    failing = sheet_rows(wb[FAILING_SHEET])
    want = {(s["name"], label("platform", s["platform"])) for s in scores if s["verdict"] == "不合格"}
    assert len(failing) == len(want)
    assert {(r["名称"], r["平台"]) for r in failing} == want
    assert all(r["不合格指标"] for r in failing)
    assert all(r["主办单位"] for r in failing)
    vetoed = {
        (r["name"], r["label"])
        for r in rows(
            world_crawl.db_path,
            "SELECT t.name, f.label FROM findings f JOIN targets t ON t.id = f.target_id "
            "WHERE f.severity = 'veto' AND f.resolved_at IS NULL",
        )
    }
    for r in failing:
        if r["依据"] == "单项否决":
            assert any(label in r["不合格指标"] for name, label in vetoed if name == r["名称"]), r
    ws = wb[FAILING_SHEET]
    links = [c.hyperlink.target for row in ws.iter_rows(min_row=2) for c in row if c.hyperlink]
    assert links
    assert all(u.startswith(("http://", "https://")) for u in links)
    assert any(u.startswith("http://desk.example:8001/monitor/findings/") for u in links)
    # one sheet per indicator, each with every finding of its rule
    findings = rows(world_crawl.db_path, "SELECT rule, label FROM findings")
    per_rule = Counter(f["rule"] for f in findings)
    labels = {f["rule"]: f["label"] for f in findings}
    assert len(wb.sheetnames) == 2 + len(per_rule)
    taken = {SUMMARY_SHEET, FAILING_SHEET}
    for rule in sorted(per_rule, key=lambda r: wb.sheetnames.index(sheet_title(labels[r], set(taken)))):
        name = sheet_title(labels[rule], taken)
        body = sheet_rows(wb[name])
        assert len(body) == per_rule[rule], rule
        assert "T12:00:00" not in str(body)  # times as 2026-06-30 12:00
        assert set(body[0]) >= {"地区", "主办单位", "名称", "性质", "证据", "首次发现", "状态"}


def test_scope_and_period(world_crawl: Crawl, tmp_path: Path) -> None:
    out = tmp_path / "county.xlsx"
    report(world_crawl, out, "--level", "county", "--region", "99")
    county = rows(world_crawl.db_path, "SELECT * FROM target_scores WHERE level = '县级'")
    wb = load_workbook(out)
    total = list(wb[SUMMARY_SHEET].iter_rows(values_only=True))[6]
    assert total[1] == len(county)
    failing = sheet_rows(wb[FAILING_SHEET])
    assert {r["名称"] for r in failing} == {s["name"] for s in county if s["verdict"] == "不合格"}
    assert {r["层级"] for r in failing} == {"县级"}
    org = county[0]["org"]
    by_org = tmp_path / "org.xlsx"
    report(world_crawl, by_org, "--org", org)
    total = list(load_workbook(by_org)[SUMMARY_SHEET].iter_rows(values_only=True))[6]
    assert total[1] == len(rows(world_crawl.db_path, "SELECT 1 FROM target_scores WHERE org = ?", (org,)))
    # a period before anything was found: the verdicts stand, no finding is reported
    before = tmp_path / "before.xlsx"
    report(world_crawl, before, "--until", "2026-01-01")
    assert load_workbook(before).sheetnames == [SUMMARY_SHEET, FAILING_SHEET]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--out", "x.xlsx", "--since", "2026-13-01"], "YYYY-MM-DD"),
        (["--out", "x.pdf"], "--format"),
        (["--out", "x.xlsx", "--level", "prefecture-level"], "层级"),
        (["--out", "x.xlsx", "--since", "2026-07-01", "--until", "2026-06-01"], "before"),
    ],
)
def test_bad_arguments(world_crawl: Crawl, tmp_path: Path, args: list[str], words: str) -> None:
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    proc = run_scrapy("report", *args, db_path=world_crawl.db_path, check=False)
    assert proc.returncode != 0
    assert words in proc.stderr + proc.stdout


@pytest.mark.browser
def test_printable_report_renders(world_crawl: Crawl, tmp_path: Path, page: Any) -> None:  # noqa: F811
    out = tmp_path / "report.html"
    report(world_crawl, out, "--format", "html")
    failing = rows(world_crawl.db_path, "SELECT count(*) AS n FROM target_scores WHERE verdict = '不合格'")[
        0
    ]["n"]
    page.goto(out.as_uri(), wait_until="load")
    assert page.locator("h1").inner_text() == "政务新媒体与政府网站检查情况通报"
    assert page.locator("section.failing tbody tr").count() == failing
    rules = rows(world_crawl.db_path, "SELECT count(DISTINCT rule) AS n FROM findings")[0]["n"]
    assert page.locator("section.indicators .indicator").count() == rules
    hrefs = page.locator("a[href]").evaluate_all("(as) => as.map(a => a.getAttribute('href'))")
    assert all(h.startswith(("http://", "https://")) for h in hrefs)
    assert "合格率" in page.locator("section.summary").inner_text()
    shot(page, "report")
    assert page.errors == []
