"""`scrapy crawl portal` on the demo world's boards as real boards are: 云川's busy 反映问题 board (佳木斯's
shapes, 15 letters a page, an open letter four months old on page 6, the rest mostly 已回复 with no reply
date on their page) read as deep as the unanswered-message rule needs, and no deeper; the page cap, when
hit, recorded as truncated and the check said to be partial.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.clock import parse_iso
from crawler import settings
from db import open_db
from demo import portal as demo_portal
from detection.rules.config import load_rules
from spiders.portal.jobs import message_horizon
from tests.conftest import Crawl
from tests.helpers import AS_OF, DemoWorld, run_scrapy

YUNCHUAN = "云川市人民政府门户网站"


def rows(db_path: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    db = open_db(db_path)
    try:
        return list(db.query(sql, params or []))
    finally:
        db.close()


def plants(crawl: Crawl, kind: str) -> list[dict[str, Any]]:
    return [p for p in crawl.planted["portal"] if p["kind"] == kind]


def busy_board(dw: DemoWorld) -> demo_portal.Column:
    return next(
        c
        for p in demo_portal.portals(dw.world)
        if p.name == YUNCHUAN
        for c in p.columns
        if c.name == "反映问题"
    )


def test_a_busy_board_is_read_as_deep_as_the_rule_needs(world_crawl: Crawl) -> None:
    (board,) = plants(world_crawl, "paged_board")
    col = rows(world_crawl.db_path, "SELECT * FROM columns WHERE url = ?", [board["url"]])[0]
    assert (col["status"], col["kind"], col["board_kind"], col["truncated"]) == (
        "ok",
        "互动",
        "consultation",
        0,
    )
    # pages up to the first one that shows a letter older than the horizon (the rule's months + margin)
    horizon = message_horizon(
        load_rules().resolved("national"), parse_iso(AS_OF), settings.MONITOR_BOARD_MARGIN_DAYS
    )
    letters = busy_board(world_crawl.world).messages
    per_page = board["per_page"]
    deepest = next(
        n
        for n in range(1, board["pages"] + 1)
        if min(m.asked_at for m in letters[(n - 1) * per_page : n * per_page]) < horizon.reach
    )
    assert 1 < deepest < board["pages"]
    assert col["pages_followed"] == deepest
    assert col["item_count"] == deepest * per_page
    (veto,) = [p for p in plants(world_crawl, "unanswered_message") if p["url"].startswith(board["url"])]
    assert veto["page"] == 6 == deepest
    msg = rows(world_crawl.db_path, "SELECT * FROM messages WHERE message_id = ?", [veto["message_id"]])[0]
    assert (msg["answer_state"], msg["status"], msg["answered_at"]) == ("open", "未回复", None)


def test_answered_without_a_reply_date_is_answered(world_crawl: Crawl) -> None:
    stored = {
        r["message_id"]: r
        for r in rows(
            world_crawl.db_path, "SELECT message_id, answer_state, answered_at, asked_at FROM messages"
        )
    }
    undated = plants(world_crawl, "answered_undated_message")
    seen = [p for p in undated if p["message_id"] in stored]
    assert {p["target"] for p in seen} == {YUNCHUAN, "临江市人民政府门户网站"}
    assert len(seen) > 20
    for p in seen:
        assert (stored[p["message_id"]]["answer_state"], stored[p["message_id"]]["answered_at"]) == (
            "answered",
            None,
        ), p
    # the letters past the page the rule needs were never listed
    assert {p["message_id"] for p in undated} - set(stored)
    (unknown,) = plants(world_crawl, "unknown_state_message")
    assert stored[unknown["message_id"]]["answer_state"] == "unknown"


def test_only_the_messages_that_matter_are_opened(world_crawl: Crawl) -> None:
    (board,) = plants(world_crawl, "paged_board")
    run = rows(world_crawl.db_path, "SELECT id FROM runs WHERE spider = 'portal' ORDER BY id DESC LIMIT 1")[0]
    opened = rows(
        world_crawl.db_path,
        "SELECT url FROM checks WHERE run_id = ? AND kind = 'page' AND found_on = ?",
        [run["id"], board["url"]],
    )
    horizon = message_horizon(
        load_rules().resolved("national"), parse_iso(AS_OF), settings.MONITOR_BOARD_MARGIN_DAYS
    )

    stored = rows(
        world_crawl.db_path, "SELECT url, asked_at FROM messages WHERE board_url = ?", [board["url"]]
    )

    def listed_before(when: datetime) -> set[str]:
        """Letters whose list date (a day) is before ``when``."""
        day = {r["url"]: parse_iso(r["asked_at"]).replace(hour=0, minute=0, second=0) for r in stored}
        return {url for url, at in day.items() if at < when}

    # old enough to judge (list dates are days: a letter listed on the limit's day is opened too)
    urls = {r["url"] for r in opened}
    old = {r["url"] for r in stored if parse_iso(r["asked_at"]) < horizon.judge_before}
    assert old <= urls == listed_before(horizon.judge_before + timedelta(days=1))
    assert len(opened) < board["pages"] * board["per_page"] / 3


def test_the_page_cap_when_hit_is_truncated_and_the_check_partial(
    demo_world: DemoWorld, db_path: Path
) -> None:
    run_scrapy("import-targets", str(demo_world.targets_file), db_path=db_path)
    tid = rows(db_path, "SELECT id FROM targets WHERE name = ?", [YUNCHUAN])[0]["id"]
    proc = run_scrapy(
        "crawl", "portal", "-a", f"targets={tid}", "-s", "MONITOR_BOARD_MAX_PAGES=4", db_path=db_path
    )
    assert "older messages not examined" in proc.stderr
    col = rows(db_path, "SELECT * FROM columns WHERE name = '反映问题'")[0]
    assert (col["pages_followed"], col["item_count"], col["truncated"]) == (4, 60, 1)
    stats = json.loads(rows(db_path, "SELECT stats FROM runs WHERE spider = 'portal'")[0]["stats"])
    assert stats["monitor/portal/board_truncated"] == 1
    findings = {
        r["subject"]
        for r in rows(db_path, "SELECT subject FROM findings WHERE rule = 'portal.unanswered_message'")
    }
    assert findings == {"YC2026-0001"}  # page 6's open letter was never listed: nothing said about it
    verdict = rows(db_path, "SELECT * FROM target_scores WHERE name = ?", [YUNCHUAN])[0]
    assert verdict["coverage"] == "partial"
    assert "留言板未读完" in verdict["reason"]
    assert col["url"] in verdict["reason"]
