"""A bad field loses that field, end to end: one bad pubDate keeps the other posts of its feed page, one
bad Weibo time (and a field of the wrong type) keeps its page, an MP answer with a string base_resp still
leaves its check. Saved answers from tests/fixtures, with the bad values spliced in, on a local server."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from demo.wechat import DEMO_COOKIE, DEMO_TOKEN
from tests.helpers import answering, fixture_path, run_scrapy, write_targets

FEED = fixture_path("feed", "rss_wechat_bridge.xml").read_text(encoding="utf-8")
PROFILE = json.loads(fixture_path("weibo", "profile.json").read_text(encoding="utf-8"))
TIMELINE = json.loads(fixture_path("weibo", "timeline_pinned.json").read_text(encoding="utf-8"))


def bad_feed() -> bytes:
    dates = iter(["99999999999999999999", "昨天 25:99"])
    return re.sub(
        r"<pubDate>[^<]*</pubDate>", lambda m: f"<pubDate>{next(dates, 'x')}</pubDate>", FEED, count=2
    ).encode()


def bad_timeline() -> bytes:
    data = json.loads(json.dumps(TIMELINE))
    mblogs = [c["mblog"] for c in data["data"]["cards"] if c.get("card_type") == 9]
    data["data"]["cardlistInfo"].update(since_id=None, total=len(mblogs))  # one page
    mblogs[1]["created_at"] = "昨天 25:99"
    mblogs[2]["user"] = "not an object"
    mblogs[2]["pics"] = 7
    mblogs[3]["reposts_count"] = "99999999999999999999999"
    mblogs[3]["page_info"] = ["a list"]
    return json.dumps(data, ensure_ascii=False).encode()


def answer(path: str) -> tuple[bytes, str]:
    parts = urlsplit(path)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.path == "/feed.xml":
        return bad_feed(), "application/rss+xml; charset=utf-8"
    if parts.path == "/api/container/getIndex":
        profile = query.get("containerid", "").startswith("100505")
        body = json.dumps(PROFILE, ensure_ascii=False).encode() if profile else bad_timeline()
        return body, "application/json; charset=utf-8"
    return b'{"base_resp": "ok", "publish_page": "{}"}', "application/json"  # the MP list: a wrong type


def test_bad_fields_lose_the_field_not_the_page(tmp_path: Path, db_path: Path) -> None:
    creds = {"MONITOR_WECHAT_TOKEN": DEMO_TOKEN, "MONITOR_WECHAT_COOKIE": DEMO_COOKIE}
    with answering(answer) as base:
        rows = [
            {"platform": "feed", "name": "坏日期的源", "feed": f"{base}/feed.xml"},
            {
                "platform": "weibo",
                "name": "坏字段的微博",
                "handle": "5800000001",
                "options": {"weibo_base": base},
            },
            {
                "platform": "wechat",
                "name": "坏应答的公众号",
                "handle": "MzA4ODUzNjAxOA==",
                "options": {"mode": "mp", "fakeid": "MzA4ODUzNjAxOA==", "mp_base": base},
            },
        ]
        run_scrapy("import-targets", str(write_targets(tmp_path, rows)), db_path=db_path)
        logs = {
            s: run_scrapy("crawl", s, db_path=db_path, **creds).stderr for s in ("feed", "weibo", "wechat")
        }
    assert all("Traceback" not in log for log in logs.values())
    with sqlite3.connect(db_path) as conn:
        posts = dict(
            conn.execute(
                "SELECT t.name, count(*) || '/' || sum(p.published_at IS NULL) FROM posts p "
                "JOIN targets t ON t.id = p.target_id GROUP BY 1"
            ).fetchall()
        )
        checks = dict(
            conn.execute("SELECT t.name, c.outcome FROM checks c JOIN targets t ON t.id = c.target_id")
        )
        stats = {s: json.loads(v) for s, v in conn.execute("SELECT spider, stats FROM runs")}
    assert posts["坏日期的源"] == "3/2"  # every post of the page, two without their date
    weibo_mblogs = sum(1 for c in TIMELINE["data"]["cards"] if c.get("card_type") == 9)
    assert posts["坏字段的微博"] == f"{weibo_mblogs}/1"  # the page kept, one post without its time
    assert checks["坏应答的公众号"] == "malformed"  # the MP answer left its check
    assert stats["feed"]["monitor/bad_field/published_at"] == 2
    assert stats["weibo"]["monitor/bad_field/published_at"] >= 1  # once per page it was read on
    assert stats["weibo"]["monitor/bad_field/reposts_count"] >= 1
