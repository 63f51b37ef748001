"""`scrapy crawl wechat` and `scrapy crawl weibo` against the demo world: rows, states, incremental re-checks.

The first crawl is the session's shared one; the module re-crawls a copy of it (the world unchanged),
with DEBUG logging, to measure what a re-check costs and that no credential reaches a log or the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from db import open_db
from demo.http import Request, Response, Router, make_server, serve_in_thread
from demo.wechat import DEMO_COOKIE, DEMO_TOKEN, wechat_accounts
from tests.conftest import CREDENTIALS, Crawl, copy_db
from tests.helpers import DemoWorld, fixture_path, free_port, run_scrapy

ENV = CREDENTIALS
TABLES = ("posts", "accounts", "targets", "http_validators")


@dataclass
class Crawled:
    world: DemoWorld
    db_path: Path
    logs: str
    counts_after_first: dict[str, int]
    runs: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def crawled(world_crawl: Crawl, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    tmp = tmp_path_factory.mktemp("accounts")
    dw = world_crawl.world
    db_path = copy_db(world_crawl.db_path, tmp / "monitor.db")
    # A WeChat account read through an RSS bridge: the feed spider's, never the wechat spider's.
    extra = tmp / "bridge.yaml"
    extra.write_text(
        "- platform: wechat\n  name: 临江发布(订阅源)\n  handle: bridge-linjiang\n"
        f"  feed: {dw.base}/feeds/linjiang-fabu.xml\n",
        encoding="utf-8",
    )
    run_scrapy("import-targets", str(extra), db_path=db_path)
    db = open_db(db_path)
    counts = {t: db[t].count for t in TABLES}
    db.close()
    logs = []
    for spider in ("wechat", "weibo"):
        proc = run_scrapy("crawl", spider, "-s", "LOG_LEVEL=DEBUG", db_path=db_path, **ENV)
        logs.append(proc.stdout + proc.stderr)
    db = open_db(db_path)
    runs: dict[str, list[dict[str, Any]]] = {}
    for run in db.query("SELECT * FROM runs ORDER BY id"):
        run["stats"] = json.loads(run["stats"])
        run["targets"] = {
            r["target_id"]: r for r in db.query("SELECT * FROM run_targets WHERE run_id = ?", [run["id"]])
        }
        runs.setdefault(run["spider"], []).append(run)
    db.close()
    return Crawled(dw, db_path, "\n".join(logs), counts, runs)


def by_state(db_path: Path, platform: str) -> dict[str, dict[str, Any]]:
    """Per planted state (the target's second tag): posts, newest non-pinned post, checks, account."""
    db = open_db(db_path)
    out = {}
    for t in db.query("SELECT * FROM targets WHERE platform = ? AND tags LIKE '%demo%'", [platform]):
        state = json.loads(t["tags"])[1]
        posts = list(
            db.query("SELECT * FROM posts WHERE target_id = ? ORDER BY published_at DESC", [t["id"]])
        )
        checks = list(db.query("SELECT * FROM checks WHERE target_id = ? ORDER BY id", [t["id"]]))
        account = next(
            db.query("SELECT * FROM accounts WHERE target_id = ? ORDER BY id DESC LIMIT 1", [t["id"]]), None
        )
        newest = next((p["published_at"] for p in posts if not p["is_pinned"]), None)
        out[state + ("" if state not in out else f"#{t['id']}")] = {
            "target": t,
            "posts": posts,
            "newest": newest,
            "checks": checks,
            "outcomes": {c["outcome"] for c in checks},
            "account": account,
        }
    db.close()
    return out


def test_wechat_first_crawl(crawled: Crawled) -> None:
    s = by_state(crawled.db_path, "wechat")
    planted = {w.state: w for w in wechat_accounts(crawled.world.world) if w.mode == "mp"}
    active = s["active"]  # MP list mode, two list pages of 5
    assert len(active["posts"]) == 8
    assert active["newest"] == planted["active"].acc.newest.isoformat()
    assert all(p["text_length"] is not None and p["title"] for p in active["posts"])
    assert s["stale"]["newest"] == planted["stale"].acc.newest.isoformat()  # 20 days old
    closed = s["closed"]["posts"]
    assert any("临江市人民政府门户网站" in (p["text"] or "") and "关停注销" in p["title"] for p in closed)
    zombie = s["zombie"]["posts"]
    assert "停止更新" in zombie[0]["title"]
    assert s["freq_control"]["outcomes"] == {"blocked"}
    assert "200013" in s["freq_control"]["checks"][0]["error"]
    assert s["invalid_args"]["outcomes"] == {"http_error"}
    assert not s["freq_control"]["posts"]
    # URL-list mode: original, repost and poster articles parsed from their pages
    reposts = [p for p in s["repost_heavy"]["posts"] if p["is_repost"]]
    assert reposts
    assert all(p["repost_source"] and p["is_original"] == 0 for p in reposts)
    posters = [p for p in s["poster_only"]["posts"] if p["title"].startswith("海报")]
    assert posters
    assert all(p["text_length"] == 0 and p["image_count"] == 1 for p in posters)
    # Pages that are states: never posts, never "no new posts"
    expect = {
        "deleted_article": ("gone", None),
        "banned": ("gone", "banned"),
        "migrated": ("gone", "migrated"),
        "cancelled": ("gone", "deleted"),
        "verification": ("blocked", None),
        "antispider": ("blocked", None),
    }
    for state, (outcome, status) in expect.items():
        assert s[state]["posts"] == [], state
        assert outcome in s[state]["outcomes"], state
        assert (s[state]["account"] or {}).get("status") == status, state
    assert "TkVXQklaMjAyNg==" in s["migrated"]["account"]["status_reason"]
    first = crawled.runs["wechat"][0]["targets"]
    for state in ("freq_control", "verification", "antispider"):
        assert first[s[state]["target"]["id"]]["blocked"] == 1, state
    assert first[s["active"]["target"]["id"]] == {
        **first[s["active"]["target"]["id"]],
        "requests": 10,  # two list pages and eight article pages
        "new_posts": 8,
        "blocked": 0,
    }
    # Sogou: the latest article time is enough for staleness
    sogou_stale = next(v for k, v in s.items() if v["target"]["tags"].count("wechat_sogou") and "stale" in k)
    assert sogou_stale["newest"] == "2026-06-10T12:00:00+08:00"


@pytest.mark.browser
def test_js_page_rendered_in_chromium(crawled: Crawled) -> None:
    s = by_state(crawled.db_path, "wechat")
    page = next(v for v in s.values() if v["target"]["render"] == "js")
    assert len(page["posts"]) == 4  # links that exist only after the page's script ran
    first = crawled.runs["wechat"][0]["stats"]
    assert first.get("playwright/page_count", 0) >= 1
    assert first.get("playwright/request_count/resource_type/document", 0) >= 1


def test_weibo_first_crawl(crawled: Crawled) -> None:
    s = by_state(crawled.db_path, "weibo")
    active = s["active"]
    assert len(active["posts"]) == 26  # three timeline pages and the pinned post
    pinned = [p for p in active["posts"] if p["is_pinned"]]
    assert len(pinned) == 1
    assert pinned[0]["published_at"] < "2026-01-01"
    assert active["newest"] == "2026-06-30T07:00:00+08:00"  # "5小时前", not the pinned post
    assert active["account"]["followers"] == 128000
    assert active["account"]["followers_text"] == "12.8万"
    assert active["account"]["verified_type"] == 1
    retweets = [p for p in active["posts"] if p["is_repost"]]
    assert retweets
    assert {p["repost_source"] for p in retweets} >= {"人民日报", "(已删除)"}
    long_posts = [p for p in active["posts"] if p["text"] and p["text"].count("\n") >= 2]
    assert len(long_posts) == 3  # expanded through /statuses/extend
    assert all("全文" not in p["text"] for p in long_posts)
    assert s["stale"]["newest"] == crawled.world.world.__dict__["_weibo_accounts"][1].acc.newest.isoformat()
    for state, reason in (
        ("rate_limited", "418"),
        ("no_content", "这里还没有内容"),
        ("login_required", "-100"),
    ):
        assert s[state]["outcomes"] == {"blocked"}, state
        assert all(reason in c["error"] for c in s[state]["checks"]), state
        assert s[state]["posts"] == []
        assert s[state]["account"] is None  # a refusal says nothing about the account
        assert crawled.runs["weibo"][0]["targets"][s[state]["target"]["id"]]["blocked"] == 1, state


def test_second_crawl_costs_one_request_per_account(crawled: Crawled) -> None:
    for spider in ("wechat", "weibo"):
        first, second = crawled.runs[spider]
        assert second["finish_reason"] == "finished"
        per_target = {
            int(k.rsplit("/", 1)[1]): v
            for k, v in second["stats"].items()
            if k.startswith("monitor/requests_per_target/")
        }
        assert per_target
        assert max(per_target.values()) == 1, per_target
        assert {t: r["requests"] for t, r in second["targets"].items()} == per_target
        assert sum(r["new_posts"] for r in second["targets"].values()) == 0
        assert sum(r["not_modified"] for r in second["targets"].values()) >= 5
        assert sum(r["requests"] for r in first["targets"].values()) > len(first["targets"])
    db = open_db(crawled.db_path)
    assert {t: db[t].count for t in TABLES} == crawled.counts_after_first
    not_modified = next(
        db.query("SELECT count(*) AS n FROM checks WHERE outcome = 'not_modified' AND ok = 1")
    )
    assert not_modified["n"] >= 10
    db.close()


def test_feed_bridged_wechat_target_is_the_feed_spiders(crawled: Crawled) -> None:
    db = open_db(crawled.db_path)
    tid = next(db.query("SELECT id FROM targets WHERE handle = 'bridge-linjiang'"))["id"]
    assert db.execute("SELECT count(*) FROM checks WHERE target_id = ?", [tid]).fetchone()[0] == 0
    db.close()
    run_scrapy("crawl", "feed", "-a", f"targets={tid}", db_path=crawled.db_path)
    db = open_db(crawled.db_path)
    served = len(crawled.world.world.account("linjiang-fabu").posts)  # type: ignore[union-attr]
    assert db.execute("SELECT count(*) FROM posts WHERE target_id = ?", [tid]).fetchone()[0] == served
    db.close()


def test_credentials_never_logged_or_stored(crawled: Crawled) -> None:
    secret_sid = DEMO_COOKIE.split("slave_sid=")[1]
    assert "appmsgpublish" in crawled.logs  # the MP requests are in the DEBUG log…
    assert DEMO_TOKEN not in crawled.logs  # …without the token
    assert secret_sid not in crawled.logs
    raw = b"".join(p.read_bytes() for p in crawled.db_path.parent.glob("monitor.db*"))
    assert DEMO_TOKEN.encode() not in raw
    assert secret_sid.encode() not in raw


def test_missing_credentials_is_a_clear_check(crawled: Crawled, tmp_path: Path) -> None:
    db_path = tmp_path / "nocreds.db"
    run_scrapy("import-targets", str(crawled.world.targets_file), db_path=db_path)
    db = open_db(db_path)
    tid = next(db.query("SELECT id FROM targets WHERE platform = 'wechat' AND tags LIKE '%wechat_mp%'"))["id"]
    db.close()
    run_scrapy(
        "crawl",
        "wechat",
        "-a",
        f"targets={tid}",
        db_path=db_path,
        MONITOR_WECHAT_TOKEN="",
        MONITOR_WECHAT_COOKIE="",
    )
    db = open_db(db_path)
    check = next(db.query("SELECT * FROM checks WHERE target_id = ?", [tid]))
    assert check["outcome"] == "no_credentials"
    assert "MONITOR_WECHAT_TOKEN" in check["error"]
    assert db["posts"].count == 0


def test_planted_lists_name_real_targets() -> None:
    from core.clock import parse_iso
    from demo import wechat, weibo
    from demo.world import World
    from tests.helpers import AS_OF

    world = World(as_of=parse_iso(AS_OF))
    for module in (wechat, weibo):
        names = {t["name"] for t in module.targets(world, "http://127.0.0.1:1")}
        planted = module.planted(world, "http://127.0.0.1:1")
        assert {p["target"] for p in planted} == names
        kinds = {p["kind"] for p in planted}
        assert {"active", "stale", "zombie", "closed"} <= kinds


@dataclass
class MpRun:
    requested: list[str]  # fakeids in the order the MP endpoint was asked for them
    checks: dict[str, list[dict[str, Any]]]  # fakeid -> its checks
    posts: dict[str, int]
    blocked: dict[str, int]  # fakeid -> run_targets.blocked


def crawl_mp_session(tmp: Path, answers: dict[str, str | None]) -> MpRun:
    """One MP session sending one listing at a time: each fakeid answered with a saved answer, or (None)
    on a port that refuses connections; targets in the given order."""
    requested: list[str] = []

    def mp_list(req: Request) -> Response:
        requested.append(req.query["fakeid"])
        answer = answers[req.query["fakeid"]]
        assert answer is not None
        body = fixture_path("wechat", answer).read_bytes()
        return Response(200, body, "application/json; charset=utf-8", conditional=False)

    router = Router()
    router.add(r"/cgi-bin/appmsgpublish", mp_list)
    port = free_port()
    server = make_server(router, "127.0.0.1", port)
    serve_in_thread(server)
    closed = f"http://127.0.0.1:{free_port()}"
    targets = tmp / "mp.yaml"
    targets.write_text(
        "".join(
            f"- platform: wechat\n  name: 公众号{fakeid}\n  handle: {fakeid}\n"
            f"  options: {{mode: mp, fakeid: {fakeid}, "
            f"mp_base: '{closed if answer is None else f'http://127.0.0.1:{port}'}'}}\n"
            for fakeid, answer in answers.items()
        ),
        encoding="utf-8",
    )
    db_path = tmp / "mp.db"
    try:
        run_scrapy("import-targets", str(targets), db_path=db_path)
        run_scrapy(
            "crawl",
            "wechat",
            "-s",
            "CONCURRENT_REQUESTS_PER_DOMAIN=1",
            "-s",
            "MONITOR_LIST_MAX_PAGES=1",
            "-s",
            "MONITOR_WECHAT_FETCH_ARTICLES=0",
            db_path=db_path,
            **ENV,
        )
    finally:
        server.shutdown()
        server.server_close()
    db = open_db(db_path)
    ids = {t["handle"]: t["id"] for t in db.query("SELECT id, handle FROM targets")}
    run = MpRun(
        requested=requested,
        checks={h: list(db.query("SELECT * FROM checks WHERE target_id = ?", [i])) for h, i in ids.items()},
        posts={
            h: db.execute("SELECT count(*) FROM posts WHERE target_id = ?", [i]).fetchone()[0]
            for h, i in ids.items()
        },
        blocked={
            r["handle"]: r["blocked"]
            for r in db.query(
                "SELECT t.handle, r.blocked FROM run_targets r JOIN targets t ON t.id = r.target_id"
            )
        },
    )
    db.close()
    return run


def test_frequency_control_stops_the_mp_listings_not_yet_sent(tmp_path: Path) -> None:
    run = crawl_mp_session(
        tmp_path,
        {"QUFB": "mp_publish_page.json", "QkJC": "mp_freq_control.json", "Q0ND": "mp_publish_page.json"},
    )
    assert run.requested == ["QUFB", "QkJC"]  # never Q0ND: the session was refused before its turn
    assert [c["outcome"] for c in run.checks["QUFB"]] == ["ok"]
    assert run.posts["QUFB"] == 5
    (refused,) = run.checks["QkJC"]
    assert (refused["outcome"], refused["http_status"]) == ("blocked", 200)
    (held,) = run.checks["Q0ND"]
    assert held["outcome"] == "blocked"
    assert held["http_status"] is None
    assert held["error"] == "not requested: " + refused["error"]
    assert "200013" in held["error"]
    assert "token" not in held["url"]
    assert "fakeid=Q0ND" in held["url"]
    assert run.posts["Q0ND"] == 0
    assert run.blocked == {"QUFB": 0, "QkJC": 1, "Q0ND": 1}


def test_a_failed_mp_listing_lets_the_held_ones_start(tmp_path: Path) -> None:
    # Held back behind a listing that fails on the network, the others still start, one after another.
    run = crawl_mp_session(
        tmp_path, {"QUFB": None, "QkJC": "mp_publish_page.json", "Q0ND": "mp_publish_page.json"}
    )
    assert run.requested == ["QkJC", "Q0ND"]
    assert [c["outcome"] for c in run.checks["QUFB"]] == ["refused"]
    assert [c["outcome"] for c in run.checks["QkJC"]] == ["ok"]
    assert [c["outcome"] for c in run.checks["Q0ND"]] == ["ok"]
    assert run.posts == {"QUFB": 0, "QkJC": 5, "Q0ND": 5}
