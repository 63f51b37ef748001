"""No pass without evidence: verdicts from all of a run's fetches, the same whatever order they came in.

Unit tests drive the pure pieces (summarize_checks, evaluate_account, decide_verdict); end-to-end tests
run `scrapy crawl weibo` / `scrapy crawl wechat` against a local server built to the platforms' shapes:
a Weibo account whose page 2 or long-text expansion answers ``ok: 0`` after a good page 1 gets the same
verdict as one whose every answer was good; a WeChat page-mode list that cannot be parsed and a Sogou
result with no dated post are 无法检查, never 合格.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.clock import parse_iso
from core.enums import Coverage, Verdict
from db import open_db
from demo.http import Request, Response, Router, make_server, serve_in_thread
from detection.rules.account import AccountFacts, evaluate_account
from detection.rules.config import load_rules
from detection.rules.result import Finding
from detection.rules.verdict import decide_verdict
from detection.service import summarize_checks
from tests.conftest import stop
from tests.helpers import AS_OF, free_port, run_scrapy

RULES = load_rules()
S = RULES.resolved("national")
NOW = parse_iso(AS_OF)


def row(outcome: str, url: str, run_id: int = 7) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "kind": "api",
        "url": url,
        "outcome": outcome,
        "ok": int(outcome == "ok"),
        "http_status": 200,
        "error": f"{outcome} at {url}",
        "checked_at": AS_OF,
    }


def test_a_runs_checks_summarize_the_same_in_any_order() -> None:
    rows = [row("ok", "u/1"), row("blocked", "u/2"), row("not_found", "u/3"), row("ok", "u/4")]
    summaries = {repr(summarize_checks(list(p))) for p in itertools.permutations(rows)}
    assert len(summaries) == 1
    one = summarize_checks(rows)
    assert one is not None
    assert (one.checks, one.answered) == (4, 2)
    assert one.failures[0]["outcome"] == "not_found"  # the target's own failure is named first


def facts(**kw: Any) -> AccountFacts:
    posts = {
        "newest_at": (NOW - timedelta(days=20)).isoformat(),
        "window_posts": 3,
        "window_known_original": 3,
        "window_original": 3,
        "window_reposts": 0,
        "window_posters": 0,
        "window_meetings": 0,
        "year_posts": 3,
        "month_original": 1,
    }
    return AccountFacts(platform="weibo", **{"posts": posts, **kw})


def test_partial_reads_judge_what_was_read() -> None:
    good = evaluate_account(S, as_of=NOW, facts=facts(checks=summarize_checks([row("ok", "p1")])))
    for order in itertools.permutations([row("ok", "p1"), row("blocked", "p2")]):
        partial = evaluate_account(S, as_of=NOW, facts=facts(checks=summarize_checks(list(order))))
        assert (
            [f.rule for f in partial.findings] == [f.rule for f in good.findings] == ["account.no_update_14d"]
        )
        assert partial.coverage == Coverage.PARTIAL
        assert good.coverage == Coverage.READ
        assert "1 of 2" in (partial.reason or "")


def test_nothing_read_is_never_a_pass() -> None:
    blocked = evaluate_account(S, as_of=NOW, facts=facts(checks=summarize_checks([row("blocked", "p1")])))
    assert (blocked.coverage, blocked.findings, blocked.scope) == (Coverage.UNREAD, [], set())
    gone = evaluate_account(S, as_of=NOW, facts=facts(checks=summarize_checks([row("malformed", "p1")])))
    assert [f.rule for f in gone.findings] == ["account.unavailable"]
    undated = evaluate_account(
        S, as_of=NOW, facts=facts(checks=summarize_checks([row("ok", "p1")]), posts={"newest_at": None})
    )
    assert (undated.coverage, undated.findings) == (Coverage.UNREAD, [])
    assert undated.scope == {"account.unavailable"}  # it answered: an old unavailable finding may resolve
    never = evaluate_account(S, as_of=NOW, facts=AccountFacts(platform="wechat"))
    assert never.coverage == Coverage.NEVER
    for e in (blocked, gone, undated, never):
        v = decide_verdict(e.findings, coverage=e.coverage, reason=e.reason, rules=S, scoring=RULES.scoring)
        assert (v.verdict, v.score) == (Verdict.UNCHECKED, None)
        assert v.reason


def test_verdict_scoring() -> None:
    veto = Finding("account.no_update_14d", {})
    idle = Finding("account.idle_not_deregistered", {}, points=5)
    gaps = [Finding("account.update_gaps", {}, points=8), Finding("account.update_gaps", {}, points=8)]

    def decide(findings: list[Finding], coverage: Coverage = Coverage.READ) -> Any:
        return decide_verdict(findings, coverage=coverage, reason=None, rules=S, scoring=RULES.scoring)

    assert decide([]).verdict == Verdict.QUALIFIED
    assert decide([]).score == 100
    assert decide([idle]).score == 95
    assert decide(gaps).breakdown == {"account.update_gaps": 10.0}  # capped per indicator
    assert decide([veto, idle]).verdict == Verdict.UNQUALIFIED
    assert decide([veto], Coverage.UNREAD).verdict == Verdict.UNQUALIFIED  # a veto read is a veto
    assert decide([idle], Coverage.PARTIAL).verdict == Verdict.QUALIFIED


# --- end to end against a local server -------------------------------------------------------------

UIDS = {"5900000001": "all good", "5900000002": "page 2 refused", "5900000003": "long text refused"}


def weibo_time(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%a %b %d %H:%M:%S +0800 %Y")


def mblog(uid: str, n: int, days_ago: float, long: bool = False) -> dict[str, Any]:
    return {
        "card_type": 9,
        "mblog": {
            "id": f"{uid}{n:03d}",
            "mid": f"{uid}{n:03d}",
            "bid": f"B{n}",
            "created_at": weibo_time(days_ago),
            "text": f"第{n}条政务信息",
            "isLongText": long,
            "reposts_count": 0,
            "comments_count": 0,
            "attitudes_count": 0,
        },
    }


def weibo_router() -> Router:
    router = Router()

    def get_index(req: Request) -> Response:
        cid = req.query.get("containerid", "")
        uid = cid[6:]
        if cid.startswith("100505"):
            body: dict[str, Any] = {
                "ok": 1,
                "data": {
                    "userInfo": {"id": int(uid), "screen_name": f"测试{uid[-1]}", "statuses_count": 8},
                    "tabsInfo": {"tabs": [{"tabKey": "weibo", "containerid": f"107603{uid}"}]},
                },
            }
        elif req.query.get("page") == "2":
            if UIDS[uid] == "page 2 refused":
                body = {"ok": 0, "msg": "这里还没有内容"}
            else:
                body = {
                    "ok": 1,
                    "data": {
                        "cardlistInfo": {"total": 8},
                        "cards": [mblog(uid, i, 20 + i) for i in range(5, 8)],
                    },
                }
        else:
            body = {
                "ok": 1,
                "data": {
                    "cardlistInfo": {"total": 8},
                    "cards": [mblog(uid, i, 20 + i, long=i == 1) for i in range(5)],
                },
            }
        return Response(200, json.dumps(body).encode(), "application/json", conditional=False)

    def extend(req: Request) -> Response:
        uid = req.query.get("id", "")[:10]
        ok = UIDS.get(uid) != "long text refused"
        body = {"ok": 1, "data": {"longTextContent": "全文"}} if ok else {"ok": 0, "msg": "refused"}
        return Response(200, json.dumps(body).encode(), "application/json", conditional=False)

    def album(req: Request) -> Response:  # a list page with no article link: not parsed
        return Response(200, "<html><body><div class='album'>加载中…</div></body></html>".encode())

    def sogou(req: Request) -> Response:  # the account is found, but its result shows no article time
        html = (
            "<html><body><ul class='news-list2'><li><div class='txt-box'><p class='tit'><a>无日期号</a></p>"
            "<p class='info'>微信号：<label name='em_weixinhao'>wuriqihao</label></p></div>"
            "<dl><dt>功能介绍：</dt><dd>政务信息</dd></dl></li></ul></body></html>"
        )
        return Response(200, html.encode())

    router.add(r"/api/container/getIndex", get_index)
    router.add(r"/statuses/extend", extend)
    router.add(r"/album/\w+", album)
    router.add(r"/weixin", sogou)
    return router


@pytest.fixture(scope="module")
def platform_base() -> Iterator[str]:
    port = free_port()
    server = make_server(weibo_router(), "127.0.0.1", port)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{port}"
    stop(server)


def crawl(base: str, tmp: Path) -> Path:
    targets = [
        {"platform": "weibo", "name": f"测试{uid[-1]}", "handle": uid, "options": {"weibo_base": base}}
        for uid in UIDS
    ]
    targets += [
        {"platform": "wechat", "name": "列表号", "url": f"{base}/album/x", "options": {"mode": "page"}},
        {
            "platform": "wechat",
            "name": "无日期号",
            "handle": "wuriqihao",
            "options": {"mode": "sogou", "sogou_base": base},
        },
    ]
    path = tmp / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": targets}, allow_unicode=True), encoding="utf-8")
    db_path = tmp / "monitor.db"
    run_scrapy("import-targets", str(path), db_path=db_path)
    run_scrapy("crawl", "weibo", db_path=db_path)
    run_scrapy("crawl", "wechat", db_path=db_path)
    return db_path


@pytest.fixture(scope="module")
def crawled(platform_base: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return crawl(platform_base, tmp_path_factory.mktemp("verdicts"))


def verdicts(db_path: Path) -> dict[str, dict[str, Any]]:
    db = open_db(db_path)
    try:
        return {r["name"]: r for r in db.query("SELECT * FROM target_scores")}
    finally:
        db.close()


@pytest.mark.browser  # reads the JavaScript-only pages of the shared crawl
def test_a_failure_after_a_good_page_keeps_what_was_read(crawled: Path) -> None:
    got = verdicts(crawled)
    good, page2, long_text = (got[f"测试{uid[-1]}"] for uid in UIDS)
    # all three posted last 20 days ago: stale, whichever request failed and whenever it finished
    assert good["verdict"] == page2["verdict"] == long_text["verdict"] == "不合格"
    assert (
        good["veto_labels"] == page2["veto_labels"] == long_text["veto_labels"] == "监测时间点前2周内无更新"
    )
    assert (good["coverage"], page2["coverage"]) == ("read", "partial")
    assert "1 of 3" in page2["reason"]
    # a long text that could not be expanded is the post's problem, not the account's list
    assert long_text["coverage"] == "read"


@pytest.mark.browser  # reads the JavaScript-only pages of the shared crawl
def test_nothing_read_is_unchecked_every_time(platform_base: str, tmp_path: Path) -> None:
    first = verdicts(crawl(platform_base, tmp_path))
    again = verdicts(
        crawl(platform_base, tmp_path / "again" if (tmp_path / "again").mkdir() is None else tmp_path)
    )
    for name, why in (("列表号", "unavailable"), ("无日期号", "no dated post")):
        for got in (first, again):
            assert (got[name]["verdict"], got[name]["score"]) == ("无法检查", None), got[name]
            assert why in got[name]["reason"]
