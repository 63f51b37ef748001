"""`scrapy crawl portal` and `scrapy crawl probe` against the demo world: every planted defect recorded.

The portal crawl read here is the session's shared one; a re-crawl writes to a private copy.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from core.clock import iso, parse_iso
from db import open_db, table_counts
from db.serve import datasette_command
from demo import portal as demo_portal
from demo.run import wait_for_port
from detection.rules.config import load_rules
from detection.rules.freshness import months_before
from tests.conftest import Crawl
from tests.helpers import AS_OF, ROOT, DemoWorld, free_port, run_scrapy

PORTAL_TABLES = ("sites", "columns", "column_items", "messages")


def rows(db_path: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    db = open_db(db_path)
    try:
        return list(db.query(sql, params or []))
    finally:
        db.close()


def target_id(db_path: Path, name: str) -> int:
    return int(rows(db_path, "SELECT id FROM targets WHERE name = ?", [name])[0]["id"])


@pytest.fixture
def crawled(world_crawl: Crawl) -> tuple[DemoWorld, Path, list[dict[str, Any]]]:
    return world_crawl.world, world_crawl.db_path, world_crawl.planted["portal"]


def portal_ids(db_path: Path) -> list[int]:
    return [r["id"] for r in rows(db_path, "SELECT id FROM targets WHERE platform = 'portal'")]


@pytest.mark.browser  # reads the JavaScript-only pages of the shared crawl
def test_portal_crawl_records_every_planted_defect(
    crawled: tuple[DemoWorld, Path, list[dict[str, Any]]],
) -> None:
    _, db_path, planted = crawled
    as_of = parse_iso(AS_OF)
    kinds = {p["kind"] for p in planted}
    assert {
        "dead_link",
        "stale_column",
        "blank_column",
        "unanswered_message",
        "homepage_stale",
        "invalid_site_id_code",
        "js_rendered_column",
        "paginated_column",
        "parse_failed_column",
        "unreachable_column",
        "unreachable",
        # boards read as they are (tests/test_portal_boards_crawl.py)
        "paged_board",
        "answered_undated_message",
        "unknown_state_message",
    } == kinds - {"healthy_portal"}

    for p in planted:
        if p["kind"] == "dead_link":
            found = rows(
                db_path,
                "SELECT outcome, found_on FROM checks WHERE kind = 'link' AND url = ?",
                [p["url"]],
            )
            assert found == [{"outcome": p["outcome"], "found_on": p["found_on"]}], p
        elif p["kind"] == "stale_column":
            col = rows(db_path, "SELECT * FROM columns WHERE url = ?", [p["url"]])[0]
            assert col["status"] == "ok"
            # Lists show the day only: the newest date is the planted day.
            assert col["newest_item_at"][:10] == p["newest_at"][:10], p
            age = (as_of - parse_iso(col["newest_item_at"])).days
            assert abs(age - p["age_days"]) <= 1
        elif p["kind"] == "blank_column":
            col = rows(
                db_path, "SELECT status, item_count, newest_item_at FROM columns WHERE url = ?", [p["url"]]
            )
            assert col == [{"status": "blank", "item_count": 0, "newest_item_at": None}]
        elif p["kind"] == "unanswered_message":
            msg = rows(
                db_path,
                "SELECT board_kind, asked_at, answered_at, url FROM messages WHERE message_id = ?",
                [p["message_id"]],
            )[0]
            assert msg["answered_at"] is None
            assert msg["board_kind"] == p["board_kind"]
            assert msg["asked_at"] == p["asked_at"]
            assert (as_of - parse_iso(msg["asked_at"])).days == p["age_days"] > 90
        elif p["kind"] == "homepage_stale":
            site = rows(db_path, "SELECT homepage_newest_at FROM sites WHERE final_url = ?", [p["url"]])[0]
            assert site["homepage_newest_at"][:10] == p["newest_at"][:10]
            assert (as_of - parse_iso(site["homepage_newest_at"])).days > 14
        elif p["kind"] == "invalid_site_id_code":
            site = rows(
                db_path, "SELECT site_id_code, site_id_code_valid FROM sites WHERE final_url = ?", [p["url"]]
            )
            assert site == [{"site_id_code": p["site_id_code"], "site_id_code_valid": 0}]
        elif p["kind"] == "js_rendered_column":
            col = rows(db_path, "SELECT * FROM columns WHERE url = ?", [p["url"]])[0]
            assert (col["status"], col["rendered"], col["item_count"]) == ("ok", 1, p["items"])
            assert col["newest_item_at"][:10] == p["newest_at"][:10]
        elif p["kind"] == "paginated_column":
            col = rows(db_path, "SELECT * FROM columns WHERE url = ?", [p["url"]])[0]
            assert (col["status"], col["item_count"], col["pages_followed"]) == (
                "ok",
                p["items"],
                p["pages"],
            ), p
            assert col["newest_item_at"][:10] == p["newest_at"][:10]
        elif p["kind"] == "parse_failed_column":
            col = rows(db_path, "SELECT status, item_count, error FROM columns WHERE url = ?", [p["url"]])[0]
            assert col["status"] == "parse_failed"
            assert col["error"].startswith("no list found")
        elif p["kind"] == "unreachable_column":
            col = rows(
                db_path,
                "SELECT status, item_count, newest_item_at, error FROM columns WHERE url = ?",
                [p["url"]],
            )
            assert col == [
                {"status": "unreachable", "item_count": None, "newest_item_at": None, "error": "HTTP 503"}
            ]
        elif p["kind"] == "unreachable":
            tid = target_id(db_path, p["target"])
            probes = rows(
                db_path, "SELECT outcome, within_limit, error FROM checks WHERE target_id = ?", [tid]
            )
            assert probes
            assert {r["outcome"] for r in probes} == {"refused"}
            assert all(r["within_limit"] == 0 for r in probes)
            for table in PORTAL_TABLES:
                assert rows(db_path, f"SELECT * FROM [{table}] WHERE target_id = ?", [tid]) == []

    # The 信访 board's open message is stored, and told apart from consultation.
    assert {p["board_kind"] for p in planted if p["kind"] == "unanswered_message"} == {
        "consultation",
        "petition",
    }


def test_healthy_portal_has_no_defect(crawled: tuple[DemoWorld, Path, list[dict[str, Any]]]) -> None:
    _, db_path, planted = crawled
    healthy = next(p for p in planted if p["kind"] == "healthy_portal")
    assert healthy["target"] == "临江市人民政府门户网站"
    tid = target_id(db_path, healthy["target"])
    as_of = parse_iso(AS_OF)
    site = rows(db_path, "SELECT * FROM sites WHERE target_id = ?", [tid])[0]
    assert site["site_id_code"] == "9901000001"
    assert site["site_id_code_valid"] == 1
    assert site["icp"] == "示ICP备000001号-1"
    assert site["police_record"] == "示公网安备9901000200001号"
    assert site["organizer"] == "临江市人民政府办公室"
    assert (as_of - parse_iso(site["homepage_newest_at"])).days < 2

    checks = rows(db_path, "SELECT kind, url, outcome FROM checks WHERE target_id = ?", [tid])
    assert [c for c in checks if c["outcome"] != "ok"] == []
    assert sum(1 for c in checks if c["kind"] == "link") > 50
    assert {c["kind"] for c in checks} <= {"probe", "column", "page", "link"}

    columns = rows(db_path, "SELECT * FROM columns WHERE target_id = ?", [tid])
    assert len(columns) == 7
    limits = {"动态要闻": 14, "通知公告": 183, "政策文件": 183, "人事": 366, "规划计划": 366, "互动": 366}
    for col in columns:
        assert col["status"] == "ok", col
        assert col["item_count"] > 0
        assert col["undated_count"] == 0, col
        assert (as_of - parse_iso(col["newest_item_at"])).days <= limits[col["kind"]], col
    # 人事信息 lists no dates: they came from each article's PubDate meta.
    sources = rows(
        db_path,
        "SELECT ci.date_source FROM column_items ci JOIN columns c ON c.id = ci.column_id"
        " WHERE c.name = '人事信息' AND c.target_id = ?",
        [tid],
    )
    assert {r["date_source"] for r in sources} == {"pubdate_meta"}

    messages = rows(db_path, "SELECT * FROM messages WHERE target_id = ?", [tid])
    board = next(
        c
        for p in demo_portal.portals(crawled[0].world)
        if p.slug == "linjiang"
        for c in p.columns
        if c.messages
    )
    assert len(messages) == len(board.messages)
    assert all(m["answer_state"] == "answered" and m["board_kind"] == "consultation" for m in messages)


def test_gbk_titles_and_rerun_does_not_duplicate(
    crawled: tuple[DemoWorld, Path, list[dict[str, Any]]], crawl_copy: Path
) -> None:
    dw, _, _ = crawled
    db_path = crawl_copy
    hekou = target_id(db_path, "河口县人民政府门户网站")
    site = rows(db_path, "SELECT encoding, cms FROM sites WHERE target_id = ?", [hekou])[0]
    assert site == {"encoding": "gb18030", "cms": "trs"}
    titles = {
        r["title"] for r in rows(db_path, "SELECT title FROM column_items WHERE target_id = ?", [hekou])
    }
    world_titles = {
        a.title
        for p in demo_portal.portals(dw.world)
        if p.slug == "hekou"
        for c in p.columns
        for a in c.articles
    }
    assert titles == world_titles
    urls = [r["url"] for r in rows(db_path, "SELECT url FROM column_items WHERE target_id = ?", [hekou])]
    assert all(re.search(r"/\d{6}/t\d{8}_\d+\.html$", u) for u in urls), urls

    db = open_db(db_path)
    before = table_counts(db, PORTAL_TABLES)
    first_seen = dict(db.execute("SELECT url, first_seen_at FROM column_items").fetchall())
    db.close()
    run_scrapy("crawl", "portal", db_path=db_path)
    db = open_db(db_path)
    assert table_counts(db, PORTAL_TABLES) == before
    assert dict(db.execute("SELECT url, first_seen_at FROM column_items").fetchall()) == first_seen
    runs = list(db.query("SELECT id, stats FROM runs WHERE spider = 'portal' ORDER BY id"))
    assert len(runs) == 2
    last = runs[-1]["id"]
    assert {r["run_id"] for r in db.query("SELECT run_id FROM columns")} == {last}
    assert db.execute("SELECT count(*) FROM messages WHERE last_seen_at > first_seen_at").fetchone()[0] > 0
    stats = json.loads(runs[-1]["stats"])
    assert stats["monitor/probe/ok"] == 4
    assert stats["monitor/probe/refused"] == 1
    db.close()


def test_every_portal_request_is_counted_for_its_target_and_checked(
    crawled: tuple[DemoWorld, Path, list[dict[str, Any]]],
) -> None:
    _, db_path, planted = crawled
    run = rows(db_path, "SELECT id, stats FROM runs WHERE spider = 'portal' ORDER BY id DESC LIMIT 1")[0]
    requests = {
        r["target_id"]: r["requests"]
        for r in rows(db_path, "SELECT target_id, requests FROM run_targets WHERE run_id = ?", [run["id"]])
    }
    checks = {
        r["target_id"]: r["n"]
        for r in rows(
            db_path,
            "SELECT target_id, count(*) AS n FROM checks WHERE run_id = ? GROUP BY target_id",
            [run["id"]],
        )
    }
    assert set(requests) == set(checks) == set(portal_ids(db_path))
    # Every download attempt left a check, or was the retry of one (the planted 503 column is retried).
    assert all(requests[t] >= checks[t] for t in requests)
    assert sum(requests.values()) - sum(checks.values()) == json.loads(run["stats"]).get("retry/count", 0)

    # 河口's TRS columns: their further pages are column checks, the articles opened for links page checks.
    hekou_name = "河口县人民政府门户网站"
    hekou = target_id(db_path, hekou_name)
    kinds = {
        r["kind"]: r["n"]
        for r in rows(
            db_path,
            "SELECT kind, count(*) AS n FROM checks WHERE run_id = ? AND target_id = ? GROUP BY kind",
            [run["id"], hekou],
        )
    }
    columns = rows(db_path, "SELECT count(*) AS n FROM columns WHERE target_id = ?", [hekou])[0]["n"]
    further = sum(
        p["pages"] - 1 for p in planted if p["kind"] == "paginated_column" and p["target"] == hekou_name
    )
    assert further > 0
    assert kinds["column"] == columns + further
    assert kinds["page"] > 0
    assert requests[hekou] == sum(kinds.values())

    # 临江's board: each message page opened is a page check found on the board; the pages opened are
    # those of the messages old enough for the unanswered-message rule (the rules file's months).
    linjiang = target_id(db_path, "临江市人民政府门户网站")
    board = rows(db_path, "SELECT url FROM columns WHERE target_id = ? AND kind = '互动'", [linjiang])[0][
        "url"
    ]
    opened = rows(
        db_path,
        "SELECT url, outcome FROM checks WHERE run_id = ? AND kind = 'page' AND found_on = ?",
        [run["id"], board],
    )
    old_enough = iso(
        months_before(parse_iso(AS_OF), load_rules().meta("portal.unanswered_message")["months"])
    )
    messages = rows(
        db_path, "SELECT url FROM messages WHERE target_id = ? AND asked_at < ?", [linjiang, old_enough]
    )
    assert messages
    assert sorted(r["url"] for r in opened) == sorted(m["url"] for m in messages)
    assert {r["outcome"] for r in opened} == {"ok"}


def test_requests_a_middleware_drops_still_settle_their_column(demo_world: DemoWorld, db_path: Path) -> None:
    run_scrapy("import-targets", str(demo_world.targets_file), db_path=db_path)
    qingshan = target_id(db_path, "青山区人民政府门户网站")
    # Hanweb's dataproxy.jsp page URLs are longer than 100 characters, its column and article URLs shorter:
    # UrlLengthMiddleware drops the further pages without calling any errback.
    proc = run_scrapy(
        "crawl", "portal", "-a", f"targets={qingshan}", "-s", "URLLENGTH_LIMIT=100", db_path=db_path
    )
    assert "was dropped before download" in proc.stderr
    first_page = next(
        c.per_page
        for p in demo_portal.portals(demo_world.world)
        if p.slug == "qingshan"
        for c in p.columns
        if c.name == "青山动态"
    )
    col = rows(db_path, "SELECT status, item_count, pages_followed FROM columns WHERE name = '青山动态'")
    assert col == [{"status": "ok", "item_count": first_page, "pages_followed": 1}]
    assert len(rows(db_path, "SELECT * FROM columns WHERE target_id = ?", [qingshan])) == 3


def test_probe_spider(demo_world: DemoWorld, db_path: Path) -> None:
    run_scrapy("import-targets", str(demo_world.targets_file), db_path=db_path)
    run_scrapy("crawl", "probe", db_path=db_path)
    probes = rows(
        db_path,
        "SELECT t.name, c.kind, c.outcome, c.http_status, c.latency_ms, c.within_limit, c.final_url, c.error "
        "FROM checks c JOIN targets t ON t.id = c.target_id ORDER BY t.id",
    )
    assert len(probes) == 5
    assert {p["kind"] for p in probes} == {"probe"}
    ok = [p for p in probes if p["outcome"] == "ok"]
    assert len(ok) == 4
    assert all(p["http_status"] == 200 and p["within_limit"] == 1 and p["latency_ms"] >= 0 for p in ok)
    assert all(p["final_url"].endswith("/") for p in ok)
    failed = [p for p in probes if p["outcome"] != "ok"]
    assert failed[0]["name"] == "河口县石桥镇人民政府网站"
    assert failed[0]["outcome"] == "refused"
    assert failed[0]["within_limit"] == 0
    assert "Refused" in failed[0]["error"]
    # A probe run writes checks only: no site or column data.
    db = open_db(db_path)
    assert table_counts(db, PORTAL_TABLES) == dict.fromkeys(PORTAL_TABLES, 0)
    # The failure ratio over a window is a query.
    ratio = db.execute(
        "SELECT 1.0 * sum(ok = 0) / count(*) FROM checks WHERE kind = 'probe' AND target_id = ?",
        [failed_id := target_id(db_path, failed[0]["name"])],
    ).fetchone()[0]
    assert failed_id
    assert ratio == 1.0
    db.close()


def test_portal_tables_in_datasette(crawled: tuple[DemoWorld, Path, list[dict[str, Any]]]) -> None:
    _, db_path, planted = crawled
    port = free_port()
    proc = subprocess.Popen(
        datasette_command(db_path, port=port), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_for_port(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/-/metadata.json", timeout=30) as resp:
            meta = json.loads(resp.read())
        tables = meta["databases"]["monitor"]["tables"]
        assert tables["columns"]["title"] == "栏目 · portal columns"
        assert tables["messages"]["columns"]["answered_at"].startswith("答复时间")
        sql = "SELECT url FROM columns WHERE status = 'blank' ORDER BY url"
        query = urllib.parse.urlencode({"sql": sql, "_shape": "array"})
        with urllib.request.urlopen(f"{base}/monitor.json?{query}", timeout=30) as resp:
            blank = [r["url"] for r in json.loads(resp.read())]
        assert blank == sorted(p["url"] for p in planted if p["kind"] == "blank_column")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
