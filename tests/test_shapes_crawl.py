"""`scrapy crawl wechat` and `scrapy crawl weibo` against a local server answering in the real shapes:
Sogou's highlighted names and its article search, the msgList history page, a voice article, a profile
naming the newer Weibo timeline container; then a Weibo re-check."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from db import open_db
from demo.http import Request, Response, Router, make_server, serve_in_thread
from tests.helpers import fixture_path, free_port, run_scrapy

BIZ = "MzA4NjAwMDAyMQ=="
UID = "5800000009"
NEWER = f"230413{UID}_-_WEIBO_SECOND_PROFILE_WEIBO"
VOICE_MID = "2652000102"


@dataclass
class Server:
    base: str
    containerids: list[list[str]] = field(default_factory=lambda: [[]])  # per run, in request order
    paths: list[str] = field(default_factory=list)


def history_page(base: str) -> str:
    """The saved profile_ext page with its msgList replaced: a broadcast whose article is local, and a
    voice message (written as the real page writes it: JSON, slashes as \\\\/, then HTML entities)."""
    messages = [
        {
            "comm_msg_info": {
                "id": 1000000501,
                "type": 49,
                "datetime": 1782776700,
                "status": 2,
                "content": "",
            },
            "app_msg_ext_info": {
                "title": "语音 | 早安临江〔2026.6.30 周二〕",
                "digest": "今天是6月30日，星期二。",
                "content_url": f"{base}/s?__biz={BIZ}&amp;mid={VOICE_MID}&amp;idx=1&amp;sn=f6e5d4",
                "source_url": "",
                "is_multi": 0,
                "multi_app_msg_item_list": [],
                "copyright_stat": 0,
            },
        },
        {"comm_msg_info": {"id": 1000000500, "type": 34, "datetime": 1782529860, "status": 2, "content": ""}},
    ]
    raw = json.dumps({"list": messages}, ensure_ascii=False, separators=(",", ":")).replace("/", "\\\\/")
    saved = fixture_path("wechat", "history_msglist_entities.html").read_text(encoding="utf-8")
    return re.sub(r"var msgList = '[^']*';", lambda _: f"var msgList = '{html.escape(raw)}';", saved)


def routes(server: Server) -> Router:
    def fixture(platform: str, name: str, content_type: str = "text/html; charset=utf-8") -> Response:
        return Response(200, fixture_path(platform, name).read_bytes(), content_type)

    def sogou(req: Request) -> Response:
        server.paths.append(f"sogou type={req.query.get('type')} {req.query.get('query')}")
        if req.query.get("type") == "2":
            return fixture("wechat", "sogou_articles.html")
        return fixture("wechat", "sogou_accounts_em.html")

    def history(req: Request) -> Response:
        server.paths.append(f"history {req.query.get('action')}")
        if req.query.get("action") == "getmsg":
            return Response(200, json.dumps(GETMSG, ensure_ascii=False).encode(), "application/json")
        return Response(200, history_page(server.base).encode())

    def article(req: Request) -> Response:
        server.paths.append(f"article {req.query.get('mid')}")
        if req.query.get("mid") == VOICE_MID:
            return fixture("wechat", "article_voice.html")
        return Response(404, b"<h1>404</h1>")

    def get_index(req: Request) -> Response:
        containerid = req.query.get("containerid", "")
        server.containerids[-1].append(containerid)
        if containerid == f"100505{UID}":
            return fixture("weibo", "profile_230413.json", "application/json; charset=utf-8")
        if containerid == NEWER and req.query.get("since_id"):
            server.containerids[-1][-1] += " since_id"
            body = {"ok": 1, "data": {"cardlistInfo": {"containerid": NEWER, "total": 4}, "cards": []}}
            return Response(200, json.dumps(body).encode(), "application/json; charset=utf-8")
        if containerid == NEWER:
            return fixture("weibo", "timeline_230413.json", "application/json; charset=utf-8")
        body = json.dumps({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}, ensure_ascii=False)
        return Response(200, body.encode(), "application/json; charset=utf-8", conditional=False)

    router = Router()
    router.add(r"/weixin", sogou)
    router.add(r"/mp/profile_ext", history)
    router.add(r"/s", article)
    router.add(r"/api/container/getIndex", get_index)
    return router


# The history's next page, as profile_ext?action=getmsg answers: general_msg_list is a JSON string.
OLDER = {"comm_msg_info": {"id": 1000000499, "type": 1, "datetime": 1782345600, "content": "汛前检查通知"}}
GETMSG = {
    "ret": 0,
    "errmsg": "ok",
    "msg_count": 1,
    "can_msg_continue": 0,
    "general_msg_list": json.dumps({"list": [OLDER]}, ensure_ascii=False),
    "next_offset": 11,
}

TARGETS = """\
- platform: wechat
  name: 临江发布
  handle: MzA4NjAwMDAzMQ==
  options: {{mode: sogou, sogou_base: '{base}'}}
- platform: wechat
  name: 临江经开区发布
  handle: MzA4NjAwMDAzMg==
  options: {{mode: sogou, sogou_base: '{base}'}}
- platform: wechat
  name: 临江人才
  handle: MzA4NjAwMDAzMw==
  options: {{mode: sogou, sogou_type: 2, sogou_base: '{base}'}}
- platform: wechat
  name: 临江应急
  handle: {biz}
  options:
    mode: history
    history_url: '{base}/mp/profile_ext?action=home&__biz={biz}&scene=124&uin=MTIzNDU2&key=0a1b2c3d4e5f'
- platform: wechat
  name: 临江应急(文章)
  handle: linjiangyingji
  options: {{mode: urls, article_urls: ['{base}/s?__biz={biz}&mid={mid}&idx=1&sn=f6e5d4']}}
- platform: weibo
  name: 临江应急
  handle: '{uid}'
  options: {{weibo_base: '{base}'}}
"""


@dataclass
class Crawled:
    server: Server
    db_path: Path
    accounts: dict[str, dict[str, Any]]  # target name -> its latest account row
    posts: dict[str, list[dict[str, Any]]]  # target name -> posts, newest first
    checks: dict[str, list[dict[str, Any]]]


def rows(db_path: Path, platform: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    db = open_db(db_path)
    accounts, posts, checks = {}, {}, {}
    for t in db.query("SELECT id, name FROM targets WHERE platform = ?", [platform]):
        accounts[t["name"]] = next(
            db.query("SELECT * FROM accounts WHERE target_id = ? ORDER BY id DESC LIMIT 1", [t["id"]]), None
        )
        posts[t["name"]] = list(
            db.query("SELECT * FROM posts WHERE target_id = ? ORDER BY published_at DESC", [t["id"]])
        )
        checks[t["name"]] = list(db.query("SELECT * FROM checks WHERE target_id = ? ORDER BY id", [t["id"]]))
    db.close()
    return accounts, posts, checks


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    tmp = tmp_path_factory.mktemp("shapes")
    port = free_port()
    server = Server(f"http://127.0.0.1:{port}")
    http = make_server(routes(server), "127.0.0.1", port)
    serve_in_thread(http)
    targets = tmp / "targets.yaml"
    targets.write_text(TARGETS.format(base=server.base, biz=BIZ, mid=VOICE_MID, uid=UID), encoding="utf-8")
    db_path = tmp / "monitor.db"
    try:
        run_scrapy("import-targets", str(targets), db_path=db_path)
        run_scrapy("crawl", "wechat", db_path=db_path)
        run_scrapy("crawl", "weibo", db_path=db_path)
        server.containerids.append([])
        run_scrapy("crawl", "weibo", db_path=db_path)  # the re-check
    finally:
        http.shutdown()
        http.server_close()
    wechat, weibo = rows(db_path, "wechat"), rows(db_path, "weibo")
    return Crawled(
        server,
        db_path,
        {**wechat[0], **{f"weibo:{k}": v for k, v in weibo[0].items()}},
        {**wechat[1], **{f"weibo:{k}": v for k, v in weibo[1].items()}},
        {**wechat[2], **{f"weibo:{k}": v for k, v in weibo[2].items()}},
    )


def test_highlighted_sogou_name_matched(crawled: Crawled) -> None:
    account = crawled.accounts["临江发布"]
    assert account is not None
    assert (account["name"], account["wechat_id"], account["status"]) == (
        "临江发布",
        "linjiangfabu",
        "active",
    )
    assert [c["outcome"] for c in crawled.checks["临江发布"]] == ["ok"]  # no article search needed
    (post,) = crawled.posts["临江发布"]
    assert (post["title"], post["published_at"]) == ("临江市召开防汛工作部署会", "2026-06-28T09:30:00+08:00")


def test_undated_account_result_read_through_the_article_search(crawled: Crawled) -> None:
    assert [c["outcome"] for c in crawled.checks["临江经开区发布"]] == ["ok", "ok"]
    assert "type=2" in crawled.checks["临江经开区发布"][1]["url"]
    assert crawled.accounts["临江经开区发布"]["wechat_id"] == "ljjkqfb"
    assert [p["published_at"] for p in crawled.posts["临江经开区发布"]] == [
        "2026-06-29T18:05:00+08:00",
        "2026-06-26T16:20:00+08:00",
    ]
    # sogou_type 2: the article search only; the other account's articles are not this one's
    assert [c["url"].count("type=2") for c in crawled.checks["临江人才"]] == [1]
    assert [p["title"] for p in crawled.posts["临江人才"]] == ["转发!临江经开区人才新政解读"]
    assert crawled.accounts["临江人才"]["name"] == "临江人才"


def test_account_read_through_its_history_page(crawled: Crawled) -> None:
    account = crawled.accounts["临江应急"]
    assert (account["name"], account["gh_id"]) == ("临江应急", "gh_3f9e2a1b7c4d")
    posts = {p["post_id"]: p for p in crawled.posts["临江应急"]}
    kinds = {post_id: p["kind"] for post_id, p in posts.items()}
    assert kinds == {
        f"{BIZ}_{VOICE_MID}_1": "audio",  # the list says article; its page has an <mpvoice>
        f"{BIZ}_msg1000000500_1": "audio",  # a voice message in the list
        f"{BIZ}_msg1000000499_1": "text",  # on the next page (getmsg)
    }
    assert posts[f"{BIZ}_{VOICE_MID}_1"]["text"].startswith("今天是6月30日")
    checks = crawled.checks["临江应急"]
    assert sorted((c["kind"], c["outcome"]) for c in checks) == [
        ("article", "ok"),
        ("listing", "ok"),
        ("listing", "ok"),
    ]
    listings = [c["url"] for c in checks if c["kind"] == "listing"]
    assert any("action=getmsg" in u and "offset=10" in u for u in listings)
    for url in listings:  # the client session in the URL is never stored
        assert "key=" not in url
        assert "uin=" not in url


def test_article_page_names_gh_id_and_wechat_id(crawled: Crawled) -> None:
    account = crawled.accounts["临江应急(文章)"]
    assert (account["gh_id"], account["wechat_id"], account["name"]) == (
        "gh_3f9e2a1b7c4d",
        "linjiangyingji",
        "临江应急",
    )
    (post,) = crawled.posts["临江应急(文章)"]
    assert post["kind"] == "audio"


def test_weibo_recheck_reads_the_container_the_profile_named(crawled: Crawled) -> None:
    first, second = crawled.server.containerids
    # the profile, then the timeline its 微博 tab names (and its next page)
    assert first == [f"100505{UID}", NEWER, f"{NEWER} since_id"]
    assert second == [NEWER]  # the re-check: the stored container, never 107603{uid}
    assert crawled.accounts["weibo:临江应急"]["timeline_containerid"] == NEWER
    outcomes = [c["outcome"] for c in crawled.checks["weibo:临江应急"]]
    assert outcomes == ["ok", "ok", "ok", "not_modified"]
    posts = crawled.posts["weibo:临江应急"]
    assert len(posts) == 4
    assert sum(p["is_pinned"] for p in posts) == 1  # the pinned post sat in a card_group
