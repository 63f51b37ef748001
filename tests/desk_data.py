"""Data for the desk tests: a real crawl of the demo world, plus clearly marked stand-in rows.

STAND-IN (until detection and the portal spider are merged): ``add_standin_findings`` writes findings
rows in the cross-stage contract's shape (rule ids, subject, evidence keys) and ``add_standin_portal``
writes sites/columns/messages/link checks in m010's shape for one portal target. The lead replaces
both with real `scrapy crawl portal` and `scrapy detect` output after merging; the expectations in
tests/test_desk.py are the demo world's planted states, so they should hold unchanged.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from crawler.clock import iso, parse_iso
from crawler.demo.world import World
from db import open_db
from tests.helpers import AS_OF

# A post that tries to run script wherever it is shown; it must only ever appear as text.
XSS_TITLE = "<script>window.__pwned=1</script>防汛救灾工作简报"
XSS_BODY = (
    "正文含有脚本 <script>window.__pwned=1</script> 和图片 <img src=x onerror=window.__pwned=1> 的测试文字"
)
PORTAL_NAME = "临江市人民政府门户网站"  # the closed account's notice names it (contract)


def plant_xss_post(world: World) -> None:
    """Make the active account 临江发布 publish the script-bearing post (served like any other)."""
    world.add_post("linjiang-fabu", XSS_TITLE, XSS_BODY)


def add_portal_target(targets_file: Path, base: str) -> None:
    """Append the healthy portal target the closure notice points to (imported by import-targets)."""
    doc = yaml.safe_load(targets_file.read_text(encoding="utf-8"))
    doc["targets"].append(
        {
            "platform": "portal",
            "name": PORTAL_NAME,
            "url": f"{base}/portal/linjiang/",
            "org": "临江市人民政府办公室",
            "region_code": "990100",
            "region_name": "临江市",
            "level": "市级",
            "tags": ["demo", "portal"],
        }
    )
    targets_file.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _ago(days: float) -> str:
    return iso(parse_iso(AS_OF) - timedelta(days=days))


def _target(db: Any, name: str) -> int:
    # Feed accounts first: WeChat/Weibo demo targets reuse some names, and only feeds are crawled here.
    return int(
        next(
            db.query(
                "SELECT id FROM targets WHERE name = ? ORDER BY platform != 'feed', platform != 'portal', id",
                [name],
            )
        )["id"]
    )


def _newest_post(db: Any, target_id: int) -> dict[str, Any]:
    return next(
        db.query(
            "SELECT post_id, title, published_at FROM posts WHERE target_id = ? "
            "ORDER BY published_at DESC LIMIT 1",
            [target_id],
        )
    )


def add_standin_portal(db_path: Path, base: str) -> dict[str, Any]:
    """STAND-IN for the portal spider: one site with overdue/blank columns, messages, dead links."""
    db = open_db(db_path)
    tid = _target(db, PORTAL_NAME)
    home = f"{base}/portal/linjiang/"
    db.table("sites").insert(
        {
            "target_id": tid,
            "homepage_url": home,
            "final_url": home,
            "site_name": PORTAL_NAME,
            "homepage_newest_at": _ago(1),
            "checked_at": AS_OF,
        }
    )
    columns = [
        ("要闻动态", "动态要闻", "ok", _ago(2), 20),  # fresh
        ("部门动态", "动态要闻", "ok", _ago(20), 20),  # past 14 days
        ("乡镇动态", "动态要闻", "ok", None, 12),  # items but none dated: counts as not updated
        ("政策文件", "政策文件", "ok", _ago(200), 30),  # past 180 days
        ("通知公告", "通知公告", "ok", _ago(100), 30),  # within 180 days
        ("人事信息", "人事", "ok", _ago(300), 5),  # within 365 days
        ("规划计划", "规划计划", "blank", None, 0),
        ("专题专栏", "其他", "blank", None, 0),
    ]
    for name, kind, status, newest, count in columns:
        db.table("columns").insert(
            {
                "target_id": tid,
                "url": f"{home}{name}/",
                "name": name,
                "kind": kind,
                "status": status,
                "item_count": count,
                "undated_count": count if newest is None else 0,
                "newest_item_at": newest,
                "checked_at": AS_OF,
            }
        )
    messages = [
        ("m-old-open", "consultation", _ago(100), None),  # unanswered past 90 days: listed
        ("m-recent-open", "consultation", _ago(30), None),
        ("m-answered", "consultation", _ago(200), _ago(190)),
        ("m-petition", "petition", _ago(150), None),  # 信访: not this indicator
        ("m-last-year", "consultation", _ago(400), None),  # outside the year before the check
    ]
    for mid, kind, asked, answered in messages:
        db.table("messages").insert(
            {
                "target_id": tid,
                "board_url": f"{home}hudong/",
                "board_kind": kind,
                "message_id": mid,
                "url": f"{home}hudong/{mid}.html",
                "title": f"关于{mid}的咨询",
                "status": "已回复" if answered else "未回复",
                "asked_at": asked,
                "answered_at": answered,
                "first_seen_at": AS_OF,
                "last_seen_at": AS_OF,
            }
        )
    links = [
        (f"{home}broken.html", home, "not_found", 404, 0, _ago(1)),
        (f"{home}fixed.html", home, "not_found", 404, 0, _ago(3)),
        (f"{home}fixed.html", home, "ok", 200, 1, _ago(1)),  # answers again: no longer dead
        (f"{home}slow.pdf", f"{home}政策文件/", "timeout", None, 0, _ago(1)),
        (f"{home}guarded.html", home, "blocked", 403, 0, _ago(1)),  # anti-bot, not a dead link
    ]
    for url, found_on, outcome, http_status, ok, when in links:
        db.table("checks").insert(
            {
                "target_id": tid,
                "kind": "link",
                "url": url,
                "found_on": found_on,
                "http_status": http_status,
                "outcome": outcome,
                "ok": ok,
                "checked_at": when,
            }
        )
    db.close()
    return {"target_id": tid, "home": home}


def add_standin_findings(db_path: Path) -> dict[str, Any]:
    """STAND-IN for `scrapy detect`: findings for the planted accounts in the contract's shape."""
    db = open_db(db_path)
    run1 = db.table("runs").insert({"spider": "detect", "started_at": _ago(7), "as_of": _ago(7)}).last_pk
    run2 = db.table("runs").insert({"spider": "detect", "started_at": AS_OF, "as_of": AS_OF}).last_pk
    ids = {
        n: _target(db, n)
        for n in (
            "青山教育",
            "河口科协",
            "青山住建",
            "云川卫健",
            "临江发布",
            "临江文旅",
            "云川生态环境",
            PORTAL_NAME,
        )
    }
    notices = {n: _newest_post(db, ids[n]) for n in ("河口科协", "青山住建", "云川卫健")}
    rows: list[dict[str, Any]] = []

    def add(
        name: str,
        rule: str,
        severity: str,
        *,
        subject: str = "",
        evidence: Any = None,
        run: int | None = run1,
        first: str | None = None,
        resolved: str | None = None,
        last_run: int | None = None,
    ) -> None:
        rows.append(
            {
                "target_id": ids[name],
                "rule": rule,
                "subject": subject,
                "label": rule,
                "severity": severity,
                "indicator": "国办秘函〔2019〕19号",
                "evidence": json.dumps(evidence or {}, ensure_ascii=False),
                "first_seen_at": first or _ago(7),
                "last_seen_at": AS_OF,
                "resolved_at": resolved,
                "first_run_id": run,
                "last_run_id": last_run or run2,
            }
        )

    for name in ("青山教育", "河口科协", "青山住建"):
        add(name, "account.no_update_14d", "veto", evidence={"days": 14})
    add("河口科协", "account.zombie", "veto", first=_ago(40))
    add(
        "河口科协",
        "account.closure_notice",
        "info",
        subject=notices["河口科协"]["post_id"],
        evidence={"effective_date": None, "migration_target": "河口发布"},
        first=_ago(40),
    )
    add(
        "青山住建",
        "account.closure_notice",
        "info",
        subject=notices["青山住建"]["post_id"],
        evidence={
            "effective_date": _ago(25)[:10],
            "migration_target": PORTAL_NAME,
            "migration_url": "http://www.linjiang.gov.cn/",
        },
        run=run2,
        first=AS_OF,
    )
    add(
        "云川卫健",
        "account.closure_notice",
        "info",
        subject=notices["云川卫健"]["post_id"],
        evidence={
            "effective_date": iso(parse_iso(AS_OF) + timedelta(days=20))[:10],
            "migration_target": "云川发布",
        },
        first=_ago(3),
    )
    add(
        "临江发布",
        "account.update_gaps",
        "deduction",
        evidence={"longest_gap_days": 3, "quote": XSS_TITLE},
        first=_ago(70),
    )
    add("临江文旅", "account.repost_heavy", "info", evidence={"share": 0.8}, first=_ago(40))
    add("云川生态环境", "account.unavailable", "info", evidence={"outcome": "gone"}, first=_ago(100))
    add("云川卫健", "account.update_gaps", "deduction", first=_ago(35), resolved=AS_OF, last_run=run2)
    add(PORTAL_NAME, "portal.dead_link_homepage", "deduction", subject="broken.html", run=run2, first=AS_OF)
    add(PORTAL_NAME, "portal.dead_links", "deduction", evidence={"count": 30}, first=_ago(7))
    add(PORTAL_NAME, "portal.unanswered_message", "veto", subject="m-old-open", first=_ago(7))
    add(PORTAL_NAME, "portal.blank_column", "info", subject="规划计划", first=_ago(7))
    db.table("findings").insert_all(rows)
    db.close()
    return {"run1": run1, "run2": run2, "notices": notices, "ids": ids}
