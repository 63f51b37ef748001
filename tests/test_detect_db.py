"""detect() over a temporary SQLite file filled by plain inserts: the SQL side of every rule."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from core.clock import CHINA_TZ, iso
from db import open_db
from detection.service import detect

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=CHINA_TZ)
NOW = iso(AS_OF)


def ago(days: float) -> str:
    return iso(AS_OF - timedelta(days=days))


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_db(tmp_path / "d.db")


def target(db: Database, name: str, platform: str = "wechat", **kw: object) -> int:
    row = {"platform": platform, "key": name, "name": name, "active": 1, "created_at": NOW, "updated_at": NOW}
    return int(db["targets"].insert({**row, **kw}).last_pk)


def post(db: Database, tid: int, n: int, age: float, **kw: object) -> None:
    row = {
        "target_id": tid,
        "platform": "wechat",
        "post_id": f"{tid}-{n}",
        "title": f"标题{tid}-{n}",
        "text": f"内容{n}",
        "published_at": ago(age),
        "is_original": 1,
        "is_repost": 0,
        "text_length": 100,
        "image_count": 0,
        "url": f"http://mp.test/{tid}/{n}",
    }
    db["posts"].insert({**row, **kw})


def new_run(db: Database, **kw: object) -> int:
    """A finished, trusted crawl run (what a healthy `scrapy crawl` leaves)."""
    row = {"spider": "test", "started_at": NOW, "finished_at": NOW, "as_of": NOW, "status": "finished"}
    return int(db["runs"].insert({**row, "trusted": 1, **kw}).last_pk)


def check(db: Database, tid: int, outcome: str, kind: str = "api", age: float = 0, **kw: object) -> None:
    """A check in the test's one shared run, unless ``run_id`` names another (or None: no run)."""
    if "run_id" not in kw:
        shared = db.execute("SELECT min(id) FROM runs WHERE spider = 'test'").fetchone()[0]
        kw["run_id"] = shared or new_run(db)
    db["checks"].insert(
        {
            "target_id": tid,
            "kind": kind,
            "url": f"http://t/{tid}",
            "outcome": outcome,
            "ok": int(outcome == "ok"),
            "checked_at": ago(age),
            **kw,
        }
    )


def verdict(db: Database, name: str) -> tuple[str, str, str | None]:
    return next(
        (r["verdict"], r["coverage"], r["reason"])
        for r in db.query("SELECT * FROM target_scores WHERE name = ?", [name])
    )


def findings(db: Database, open_only: bool = True) -> set[tuple[str, str]]:
    sql = "SELECT t.name, f.rule FROM findings f JOIN targets t ON t.id = f.target_id"
    if open_only:
        sql += " WHERE f.resolved_at IS NULL"
    return {(r["name"], r["rule"]) for r in db.query(sql)}


def test_pinned_post_never_counts_as_newest(db: Database) -> None:
    tid = target(db, "置顶号")
    post(db, tid, 1, 0.5, is_pinned=1)
    for i in range(2, 6):
        post(db, tid, i, 20 + i)
    check(db, tid, "ok")
    detect(db, as_of=AS_OF)
    assert findings(db) == {("置顶号", "account.no_update_14d")}


def test_unavailable_is_never_stale(db: Database) -> None:
    tid = target(db, "被拦截号")
    for i in range(5):
        post(db, tid, i, 200 + i)
    check(db, tid, "ok", age=100, run_id=new_run(db))
    check(db, tid, "blocked", age=0, error="anti-spider page", run_id=new_run(db))
    blocked = target(db, "封禁号")
    post(db, blocked, 1, 400)
    db["accounts"].insert(
        {
            "target_id": blocked,
            "status": "banned",
            "status_reason": "该账号已被屏蔽",
            "first_seen_at": NOW,
            "last_seen_at": NOW,
        }
    )
    never = target(db, "未抓取号")  # no check, no post: nothing is concluded
    assert never
    detect(db, as_of=AS_OF)
    # Banned is the account's state: a finding. A refusal to us (anti-spider) concludes nothing either
    # way: no finding, and 无法检查 with the reason, never stale and never 合格.
    assert findings(db) == {("封禁号", "account.unavailable")}
    assert verdict(db, "被拦截号") == ("无法检查", "unread", "被拦截 blocked: anti-spider page")
    assert verdict(db, "封禁号")[:2] == ("无法检查", "unread")
    assert verdict(db, "未抓取号") == ("无法检查", "never", "never checked")


def test_profiles_change_gap_findings(db: Database) -> None:
    national = target(db, "九天一更")
    weekly = target(db, "九天一更周更", profile="周更")
    for tid in (national, weekly):
        for i in range(10):
            post(db, tid, i, 1 + i * 9)
        check(db, tid, "ok")
    detect(db, as_of=AS_OF)
    assert findings(db) == {("九天一更周更", "account.update_gaps")}
    row = next(db.query("SELECT points, evidence FROM findings WHERE rule = 'account.update_gaps'"))
    ev = json.loads(row["evidence"])
    assert ev["max_gap_days"] == 7
    assert ev["longest_gap_days"] == 9
    assert row["points"] == pytest.approx(ev["days_out_of_compliance"] * 0.5)
    # --profile overrides every target's own profile
    detect(db, as_of=AS_OF, profile="national")
    assert findings(db) == set()


def test_content_quality_and_cross_account_duplicates(db: Database) -> None:
    a, b = target(db, "甲"), target(db, "乙")
    text = "近日，临江市教育局围绕安全生产工作进行专题部署，要求各单位压实责任、狠抓落实，切实把各项措施落到实处。"  # noqa: E501
    for i in range(6):
        post(db, a, i, 1 + i, title="转发", text=text + f"第{i}期", is_original=0, is_repost=1)
        post(db, b, i, 1 + i, title=f"县长调研{i}", text=f"调研纪要{i}号：{'县里' * i}各项工作进展顺利。")
    check(db, a, "ok")
    check(db, b, "ok")
    detect(db, as_of=AS_OF)
    got = findings(db)
    assert ("甲", "account.repost_heavy") in got
    assert ("甲", "account.low_original") in got
    assert ("甲", "account.duplicate_posts") in got
    assert ("乙", "account.meeting_heavy") in got
    assert ("乙", "account.duplicate_posts") not in got
    # Engagement is summarised, never scored: the view exists, target_scores ignores it.
    assert next(db.query("SELECT count(*) AS n FROM account_engagement"))["n"] == 2


def test_cross_account_duplicate_evidence(db: Database) -> None:
    a, b = target(db, "甲"), target(db, "乙")
    for i in range(4):
        body = f"第{i}号通报：近日全市开展安全生产大检查，共排查隐患{i}处，已全部整改到位，请广大市民放心。"
        post(db, a, i, 1 + i, title=f"通报{i}", text=body)
        post(db, b, i, 1.5 + i, title=f"通报{i}", text=body)
    check(db, a, "ok")
    check(db, b, "ok")
    detect(db, as_of=AS_OF)
    ev = json.loads(
        next(
            db.query(
                "SELECT evidence FROM findings WHERE rule = 'account.duplicate_posts' AND target_id = ?", [a]
            )
        )["evidence"]
    )
    assert ev["across_targets"] == [b]


def test_closure_links_migration_target_and_checks_it(db: Database) -> None:
    acc = target(db, "青山住建")
    portal = target(db, "临江市人民政府门户网站", platform="portal", url="http://www.linjiang.gov.cn/")
    post(
        db,
        acc,
        1,
        30,
        title="关于“青山住建”政务新媒体账号关停注销的公告",
        text="“青山住建”自2026年6月5日起停止发布信息，相关内容并入临江市人民政府门户网站（http://www.linjiang.gov.cn/）。",
    )
    for i in range(2, 6):
        post(db, acc, i, 40 + i)
    check(db, acc, "ok")
    db["sites"].insert(
        {
            "target_id": portal,
            "homepage_url": "http://www.linjiang.gov.cn/",
            "homepage_items": 20,
            "homepage_undated": 0,
            "homepage_newest_at": ago(60),
            "site_id_code": "9901000001",
            "site_id_code_valid": 1,
            "checked_at": NOW,
        }
    )
    check(db, portal, "ok", kind="probe")
    detect(db, as_of=AS_OF, target_ids=[acc])
    assert findings(db) == {
        ("青山住建", "account.closure_notice"),
        ("青山住建", "account.idle_not_deregistered"),
        ("青山住建", "account.migration_target_stale"),
    }
    ev = json.loads(
        next(db.query("SELECT evidence FROM findings WHERE rule = 'account.closure_notice'"))["evidence"]
    )
    assert ev["linked_targets"][0]["target_id"] == portal
    assert ev["linked_targets"][0]["alive"] is False
    state = next(db.query("SELECT status, evidence_url FROM accounts WHERE target_id = ?", [acc]))
    assert state == {"status": "closed", "evidence_url": f"http://mp.test/{acc}/1"}
    # The portal updates again: the 并入 check passes and its finding resolves.
    db["sites"].update(1, {"homepage_newest_at": ago(1)})
    detect(db, as_of=AS_OF, target_ids=[acc])
    assert ("青山住建", "account.migration_target_stale") not in findings(db)
    assert db["accounts"].count == 1  # the closure state is extended, not duplicated


def seed_portals(db: Database) -> None:
    """Three portals with probes, sites, columns, dead links and messages: 好站 passes, 坏站 and 断站
    break each portal rule."""
    good = target(db, "好站", platform="portal", url="http://good.gov.cn/")
    bad = target(db, "坏站", platform="portal", url="http://bad.gov.cn/")
    down = target(db, "断站", platform="portal", url="http://down.gov.cn/")
    for tid, fails in ((good, 0), (bad, 4), (down, 30)):
        for i in range(100):
            check(db, tid, "timeout" if i < fails else "ok", kind="probe", age=6.9 - i * 0.069)
    # the newest probe of `down` failed
    check(db, down, "refused", kind="probe", age=0)
    for tid, newest in ((good, ago(1)), (bad, None), (down, ago(100))):
        db["sites"].insert(
            {
                "target_id": tid,
                "homepage_url": f"http://{'good' if tid == good else 'bad'}.gov.cn/",
                "homepage_items": 10,
                "homepage_undated": 0 if newest else 10,
                "homepage_newest_at": newest,
                "site_id_code": "9901000001",
                "site_id_code_valid": 1 if tid != bad else 0,
                "checked_at": NOW,
            }
        )
    cols = [
        (good, "动态要闻", ago(2), "ok"),
        *((bad, "动态要闻", ago(30), "ok") for _ in range(5)),
        (bad, "其他", None, "blank"),
        (bad, "动态要闻", None, "unreachable"),
        (down, "动态要闻", ago(90), "ok"),
    ]
    for i, (tid, kind, newest, status) in enumerate(cols):
        db["columns"].insert(
            {
                "target_id": tid,
                "url": f"http://x/{i}",
                "name": f"c{i}",
                "kind": kind,
                "status": status,
                "newest_item_at": newest,
                "checked_at": NOW,
            }
        )
    link_run = new_run(db, spider="portal")
    check(
        db,
        bad,
        "not_found",
        kind="link",
        url="http://bad.gov.cn/x.pdf",
        found_on="http://bad.gov.cn/",
        run_id=link_run,
    )
    check(
        db,
        bad,
        "not_found",
        kind="link",
        url="http://bad.gov.cn/y",
        found_on="http://bad.gov.cn/c/",
        run_id=link_run,
    )
    for mid, kind, asked, answered, state in (
        ("m1", "consultation", 120, None, "open"),
        ("m2", "petition", 120, None, "open"),
        ("m3", "consultation", 400, None, "open"),
        ("m4", "consultation", 30, None, "open"),
        ("m5", "consultation", 200, 100, "answered"),
        ("m6", "consultation", 200, 190, "answered"),
        ("m7", "consultation", 200, None, "answered"),  # 已回复 with no reply date shown
        ("m8", "consultation", 200, None, "unknown"),  # no status word, no reply date
    ):
        db["messages"].insert(
            {
                "target_id": bad,
                "board_kind": kind,
                "message_id": mid,
                "asked_at": ago(asked),
                "answered_at": ago(answered) if answered else None,
                "answer_state": state,
            }
        )


def test_portal_rules_over_portal_tables(db: Database) -> None:
    seed_portals(db)
    detect(db, as_of=AS_OF)
    got = findings(db)
    assert {r for n, r in got if n == "好站"} == set()
    assert {r for n, r in got if n == "断站"} == {"portal.unreachable"}
    assert {r for n, r in got if n == "坏站"} == {
        "portal.unreachable_warn",
        "portal.homepage_stale",
        "portal.invalid_site_id_code",
        "portal.column_stale",
        "portal.columns_stale",
        "portal.blank_column",
        "portal.dead_link_homepage",
        "portal.dead_links",
        "portal.unanswered_message",
    }
    unanswered = db.query(
        "SELECT subject FROM findings WHERE rule = 'portal.unanswered_message' ORDER BY subject"
    )
    assert [r["subject"] for r in unanswered] == ["m1", "m5"]  # open > 3 months; answered after 100 days
    score = next(db.query("SELECT * FROM target_scores WHERE name = '坏站'"))
    assert score["verdict"] == "不合格"
    assert score["score"] is None
    region = list(db.query("SELECT * FROM level_scores"))
    assert region[0]["targets"] == 3


def test_edited_post_is_judged_again(db: Database) -> None:
    tid = target(db, "改稿号")
    for i in range(3):
        post(db, tid, i, 1 + i)
    check(db, tid, "ok")
    detect(db, as_of=AS_OF)
    assert findings(db) == set()
    db.execute(
        "UPDATE posts SET title = ?, text = ? WHERE post_id = ?",
        ["停更公告", "即日起，本订阅号停止更新。感谢大家的陪伴。", f"{tid}-0"],
    )
    detect(db, as_of=AS_OF)
    assert findings(db) == {("改稿号", "account.closure_notice")}
    ev = json.loads(next(db.query("SELECT evidence FROM findings"))["evidence"])
    assert (ev["status"], ev["effective_date"]) == ("closed", ago(1)[:10])


def test_sql_gap_aggregate_agrees_with_pure_function(db: Database) -> None:
    import random

    from db.detection import gap_aggregates
    from detection.rules.freshness import combine_gaps, gap_stats

    rng = random.Random(5)
    tid = target(db, "随机号")
    ages = sorted(rng.uniform(0, 120) for _ in range(25))
    for i, a in enumerate(ages):
        post(db, tid, i, a)
    start = AS_OF - timedelta(days=90)
    for max_gap in (3, 7, 14):
        pure = gap_stats(
            [AS_OF - timedelta(days=a) for a in ages], as_of=AS_OF, window_start=start, max_gap_days=max_gap
        )
        agg = gap_aggregates(db, since=iso(start), as_of=NOW, max_gap_days=max_gap, target_ids=[tid])
        jd = AS_OF.timestamp() / 86400 + 2440587.5
        assert combine_gaps(agg[tid], jd, max_gap) == pure


def test_empty_feed_is_no_conclusion_but_zero_posts_is_a_zombie(db: Database) -> None:
    empty = target(db, "空订阅源")
    check(db, empty, "ok")
    never = target(db, "零发文")
    check(db, never, "ok")
    db["accounts"].insert(
        {"target_id": never, "status": "active", "posts_count": 0, "first_seen_at": NOW, "last_seen_at": NOW}
    )
    detect(db, as_of=AS_OF)
    assert findings(db) == {("零发文", "account.zombie")}


def test_ageing_evidence_is_not_a_change_event(db: Database) -> None:
    tid = target(db, "停更号")
    for i in range(5):
        post(db, tid, i, 20 + i)
    check(db, tid, "ok")
    detect(db, as_of=AS_OF)
    later = detect(db, as_of=AS_OF + timedelta(days=1))
    assert later.lifecycle["unchanged"] == 1
    row = next(db.query("SELECT evidence, last_seen_at FROM findings"))
    assert json.loads(row["evidence"])["days_since"] == 21.0  # updated in place
    assert row["last_seen_at"] == iso(AS_OF + timedelta(days=1))
    assert [r["event"] for r in db.query("SELECT event FROM finding_events")] == ["opened"]


def _closing(db: Database, name: str, platform: str, successor: str) -> int:
    tid = target(db, name, platform=platform)
    post(
        db,
        tid,
        1,
        3,
        platform=platform,
        title="本账号将注销关闭说明",
        text=f"各位关注者：“{name}”将于7月20日起停止更新，30天后关停。请移步“{successor}”相关账号获取权威信息。",
    )
    for i in range(2, 7):
        post(db, tid, i, 4 + i, platform=platform)
    check(db, tid, "ok")
    return tid


def _linked(db: Database, tid: int) -> list[tuple[str, bool | None, bool]]:
    ev = json.loads(
        db.execute(
            "SELECT evidence FROM findings WHERE rule = 'account.closure_notice' AND target_id = ?", [tid]
        ).fetchone()[0]
    )
    return [(x["platform"], x["alive"], x["successor"]) for x in ev["linked_targets"]]


def test_successor_named_on_several_platforms(db: Database) -> None:
    """Same platform first, then a portal, then the others; alive if any target of that tier is."""
    wb_succ = target(db, "云川发布", platform="weibo")
    post(db, wb_succ, 1, 60, platform="weibo")  # the Weibo namesake fell silent
    feed_succ = target(db, "云川发布", platform="feed")
    post(db, feed_succ, 1, 1, platform="feed")
    wb = _closing(db, "云川卫健", "weibo", "云川发布")
    detect(db, as_of=AS_OF, target_ids=[wb])
    # the Weibo account's successor is the Weibo 云川发布, which is stale, even though a feed namesake lives
    assert _linked(db, wb) == [("weibo", False, True), ("feed", True, False)]
    row = next(
        db.query("SELECT subject, evidence FROM findings WHERE rule = 'account.migration_target_stale'")
    )
    assert row["subject"] == str(wb_succ)
    assert json.loads(row["evidence"])["platform"] == "weibo"
    # a WeChat account naming the same successor: no WeChat namesake, no portal, so both others are
    # candidates, and one of them alive is enough
    wx = _closing(db, "云川卫健", "wechat", "云川发布")
    detect(db, as_of=AS_OF, target_ids=[wx])
    assert sorted(_linked(db, wx)) == [("feed", True, True), ("weibo", False, True)]
    assert ("云川卫健", "account.migration_target_stale") in findings(db)  # the Weibo one's, still
    assert (
        db.execute(
            "SELECT count(*) FROM findings WHERE rule = 'account.migration_target_stale' AND target_id = ?",
            [wx],
        ).fetchone()[0]
        == 0
    )
    # a portal of that name outranks the other platforms
    site = target(db, "云川发布", platform="portal", url="http://yc.gov.cn/")
    db["sites"].insert(
        {
            "target_id": site,
            "homepage_url": "http://yc.gov.cn/",
            "homepage_newest_at": ago(40),
            "checked_at": NOW,
        }
    )
    detect(db, as_of=AS_OF, target_ids=[wx])
    assert _linked(db, wx)[0] == ("portal", False, True)
    assert [p for p, _, chosen in _linked(db, wx) if chosen] == ["portal"]
    assert db.execute(
        "SELECT subject FROM findings WHERE rule = 'account.migration_target_stale' AND target_id = ? "
        "AND resolved_at IS NULL",
        [wx],
    ).fetchone()[0] == str(site)


def test_url_list_account_with_no_readable_article_is_unavailable(db: Database) -> None:
    gone = target(db, "已注销号")
    check(db, gone, "gone", kind="article", run_id=None, error="此帐号已自主注销")
    walled = target(db, "验证号")
    check(db, walled, "blocked", kind="article", error="环境异常")
    partly = target(db, "删一篇号")  # one deleted article among readable ones: the account is fine
    for i in range(5):
        post(db, partly, i, 1 + i)
        check(db, partly, "ok", kind="article")
    check(db, partly, "gone", kind="article", error="该内容已被发布者删除")
    detect(db, as_of=AS_OF)
    assert findings(db) == {("已注销号", "account.unavailable")}
    ev = json.loads(next(db.query("SELECT evidence FROM findings WHERE target_id = ?", [gone]))["evidence"])
    assert (ev["outcome"], ev["reason"]) == ("gone", "此帐号已自主注销")
    assert verdict(db, "验证号") == ("无法检查", "unread", "被拦截 blocked: 环境异常")
    assert verdict(db, "删一篇号")[:2] == ("合格", "partial")


def test_probes_are_judged_at_their_runs_as_of(db: Database) -> None:
    """A run with a frozen as_of stamps its checks with the wall clock: the run's as_of places them."""
    site = target(db, "镇站", platform="portal", url="http://down.gov.cn/")
    run = int(
        db["runs"]
        .insert({"spider": "portal", "started_at": "2026-11-26T17:00:00+08:00", "as_of": NOW, "trusted": 1})
        .last_pk
    )
    check(db, site, "refused", kind="probe", run_id=run, checked_at="2026-11-26T17:00:01+08:00")
    detect(db, as_of=AS_OF)
    assert findings(db) == {("镇站", "portal.unreachable")}
    # a later run (as of a month on) is outside this as_of's window and does not count yet
    later = new_run(db, spider="portal", as_of=ago(-30))
    check(db, site, "ok", kind="probe", run_id=later, checked_at="2026-11-26T18:00:00+08:00")
    detect(db, as_of=AS_OF)
    assert findings(db) == {("镇站", "portal.unreachable")}


def test_a_rule_that_raises_never_stops_detection(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The error is recorded (rule, target, post) and counted; every other rule and target is judged."""
    import detection.features as features
    import detection.service as service

    odd, stale, poison = target(db, "出错号"), target(db, "停更号"), target(db, "毒文号")
    for tid in (odd, stale, poison):
        post(db, tid, 1, 20)
        check(db, tid, "ok")
    post(db, poison, 2, 1, title="公告", text="本账号将于十十十天后关停。")  # once raised in the classifier
    post(db, poison, 3, 2, title="关停说明", text="RAISE 本公众号停止更新")
    real_classify, real_evaluate = features.classify_notice, service.evaluate_account

    def classify(title: str | None, text: str | None, posted: Any) -> Any:
        if text and text.startswith("RAISE"):
            raise ValueError("classifier broke")
        return real_classify(title, text, posted)

    def evaluate(s: Any, *, as_of: Any, facts: Any) -> Any:
        if facts.posts and facts.posts.get("target_id") == odd:
            raise RuntimeError("rule broke")
        return real_evaluate(s, as_of=as_of, facts=facts)

    monkeypatch.setattr(features, "classify_notice", classify)
    monkeypatch.setattr(service, "evaluate_account", evaluate)
    summary = detect(db, as_of=AS_OF)
    assert summary.errors == 2
    errors = {(r["target_id"], r["rule"], r["post_id"]) for r in db.query("SELECT * FROM detect_errors")}
    assert errors == {(odd, "account", None), (poison, "account.closure_notice", f"{poison}-3")}
    got = findings(db)
    assert ("停更号", "account.no_update_14d") in got  # every other target still judged
    assert ("毒文号", "account.no_update_14d") not in got  # its notice-free rules too: it posted a day ago
    assert not [f for f in got if f[0] == "出错号"]
    stats = json.loads(db.execute("SELECT stats FROM runs WHERE id = ?", [summary.run_id]).fetchone()[0])
    assert stats["monitor/detect"]["errors"] == 2


def _closure_states(db: Database) -> set[tuple[str, str]]:
    return {
        (r["name"], r["status"])
        for r in db.query(
            "SELECT t.name, a.status FROM accounts a JOIN targets t ON t.id = a.target_id "
            "WHERE a.status IN ('closing', 'closed')"
        )
    }


def test_post_reporting_other_accounts_closures_says_nothing_about_the_poster(db: Database) -> None:
    news = target(db, "临江发布")
    post(
        db,
        news,
        1,
        2,
        title="我市政务新媒体瘦身",
        text="5月8日，临江市道路运输事务中心在微信公众号宣布，其账号于6月1日起停止更新并关闭。"
        "此前，“临江水务”“临江农机”等5个微信公众号已于5月20日起停止发布信息。"
        "二季度全市关停注销政务新媒体13个。",
    )
    for i in range(2, 8):
        post(db, news, i, 0.5 + i)
    check(db, news, "ok")
    summary = detect(db, as_of=AS_OF)
    assert ("临江发布", "account.closure_notice") not in findings(db)
    assert _closure_states(db) == set()
    assert summary.errors == 0
    # the report is still a closure as stored: the desk can read what it says
    stored = json.loads(db.execute("SELECT notice FROM post_features WHERE notice IS NOT NULL").fetchone()[0])
    assert "临江市道路运输事务中心" in stored["subjects"]


def test_closure_naming_the_poster_in_a_list_marks_it(db: Database) -> None:
    own = target(db, "石门农机")
    post(
        db,
        own,
        1,
        10,
        title="关于注销部分政务新媒体账号的公告",
        text="经研究，自2026年6月10日起注销「石门林业、石门农机」等2个微信公众号，相关信息请关注“石门发布”。",
    )
    for i in range(2, 6):
        post(db, own, i, 20 + i)
    check(db, own, "ok")
    other = target(db, "石门水务")  # named nowhere in its own post's notice: only its own posts count
    post(db, other, 1, 1, text="“石门农机”微信公众号自即日起停止更新。")
    for i in range(2, 6):
        post(db, other, i, 1 + i)
    check(db, other, "ok")
    detect(db, as_of=AS_OF)
    assert ("石门农机", "account.closure_notice") in findings(db)
    assert ("石门水务", "account.closure_notice") not in findings(db)
    assert _closure_states(db) == {("石门农机", "closed")}
    ev = json.loads(
        db.execute("SELECT evidence FROM findings WHERE rule = 'account.closure_notice'").fetchone()[0]
    )
    assert ev["subjects"] == ["石门林业", "石门农机"]
    assert ev["effective_date"] == "2026-06-10"


def test_every_named_successor_is_checked(db: Database) -> None:
    acc = target(db, "河口文旅")
    post(
        db,
        acc,
        1,
        30,
        title="停更公告",
        text="本公众号自2026年6月1日起停止更新，后续信息请关注“河口发布”微信公众号和“河口文化”微博。",
    )
    for i in range(2, 6):
        post(db, acc, i, 40 + i)
    check(db, acc, "ok")
    alive = target(db, "河口发布")
    post(db, alive, 1, 1)
    stale = target(db, "河口文化", platform="weibo")
    post(db, stale, 1, 90, platform="weibo")
    detect(db, as_of=AS_OF, target_ids=[acc])
    assert _linked(db, acc) == [("wechat", True, True), ("weibo", False, True)]
    rows = list(db.query("SELECT subject FROM findings WHERE rule = 'account.migration_target_stale'"))
    assert [r["subject"] for r in rows] == [str(stale)]


def test_an_undated_announcement_keeps_the_account_closing(db: Database) -> None:
    acc = target(db, "临淄测试")
    post(
        db,
        acc,
        1,
        5,
        title="本账号将注销关闭说明",
        text="接上级通知，本账号将注销关闭，正在履行注销关闭程序。",
    )
    for i in range(2, 6):
        post(db, acc, i, 6 + i)
    check(db, acc, "ok")
    detect(db, as_of=AS_OF)
    assert _closure_states(db) == {("临淄测试", "closing")}
    assert ("临淄测试", "account.idle_not_deregistered") not in findings(db)


def test_meeting_titles_are_counted_in_the_window_only_and_ascii_words_ignore_case(db: Database) -> None:
    """The aggregate behind account.meeting_heavy: Chinese words by instr(), words with ASCII letters
    by LIKE (case folded), and only for posts of the content window."""
    from db import detection as q

    tid = target(db, "会议号")
    post(db, tid, 1, 1, title="市政府召开常务会议")
    post(db, tid, 2, 2, title="Weekly MEETING notes")
    post(db, tid, 3, 3, title="便民服务指南")
    post(db, tid, 4, 200, title="去年的工作会议")  # outside the 90-day window
    aggs = q.post_aggregates(
        db,
        as_of=iso(AS_OF),
        window_start=iso(AS_OF - timedelta(days=90)),
        year_start=iso(AS_OF - timedelta(days=365)),
        month_start=iso(AS_OF - timedelta(days=30)),
        max_text_length=20,
        meeting_words=["会议", "meeting"],
        target_ids=[tid],
    )
    assert (aggs[tid]["window_meetings"], aggs[tid]["window_posts"], aggs[tid]["year_posts"]) == (2, 3, 4)


def test_a_large_first_run_rebuilds_the_queue_indexes_it_empties(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past REBUILD_FROM rows the unjudged queue's partial index is dropped for the update and made
    again from its stored definition: same judgements, same indexes after."""
    from db import detection as q

    def indexes() -> dict[str, str]:
        return {
            r[0]: r[1]
            for r in db.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'post_features'"
            )
        }

    before = indexes()
    assert {"post_features_unjudged", "post_features_unhashed"} <= set(before)
    monkeypatch.setattr(q, "REBUILD_FROM", 1)
    tid = target(db, "大号")
    for n in range(5):
        post(db, tid, n, n + 1)
    post(db, tid, 9, 1, title="关于本公众号停止更新的公告", text="本公众号自2026年7月1日起停止更新。")
    check(db, tid, "ok")
    detect(db, as_of=AS_OF)
    assert indexes() == before
    assert db.execute("SELECT count(*) FROM post_features WHERE notice_checked = 0").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM post_features WHERE simhash IS NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM post_features WHERE notice IS NOT NULL").fetchone()[0] == 1


def test_a_first_run_judged_in_processes_judges_as_one_process_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past JUDGE_PARALLEL_FROM unjudged posts each process reads its own range of rowids, and then
    the facts over posts: the same notices, facts, findings and verdicts as judged in one process (the
    facts read on threads), portals included."""
    import os
    import shutil

    import detection.service as service

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: detection judges in one process")
    first = tmp_path / "one.db"
    db = open_db(first)
    tids = [target(db, f"号{i}") for i in range(6)]
    for tid in tids:
        for n in range(40):
            post(db, tid, n, n * 2 + 1)
        check(db, tid, "ok")
    post(db, tids[2], 99, 3, title="关于本公众号停止更新的公告", text="本公众号自2026年7月1日起停止更新。")
    post(db, tids[4], 98, 5, title="账号迁移公告", text="本账号将于2026年7月15日注销，请关注“临江发布”。")
    seed_portals(db)
    db.close()
    second = tmp_path / "processes.db"
    shutil.copy(first, second)

    def judged(path: Path) -> tuple[list[tuple], ...]:
        db = open_db(path)
        try:
            return (
                db.execute(
                    "SELECT post_rowid, notice_checked, notice FROM post_features ORDER BY 1"
                ).fetchall(),
                db.execute("SELECT target_id, rule, subject FROM findings ORDER BY 1, 2, 3").fetchall(),
                db.execute("SELECT target_id, aggregates, gaps FROM detect_facts ORDER BY 1").fetchall(),
                db.execute(
                    "SELECT target_id, verdict, score, held, note FROM verdicts ORDER BY 1"
                ).fetchall(),
            )
        finally:
            db.close()

    db = open_db(first)
    detect(db, as_of=AS_OF)
    db.close()
    monkeypatch.setattr(service, "JUDGE_PARALLEL_FROM", 1)
    pools = []

    class CountedPool(service.ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(service, "ProcessPoolExecutor", CountedPool)
    db = open_db(second)
    detect(db, as_of=AS_OF)
    db.close()
    assert pools  # the processes judged
    one, many = judged(first), judged(second)
    assert sum(1 for _, _, notice in one[0] if notice) == 2
    assert len(one[2]) == len(tids)
    assert {r[1] for r in one[1]} >= {"portal.unreachable", "portal.dead_links", "portal.unanswered_message"}
    assert many == one


def test_posts_written_between_the_backlog_count_and_the_lock_wait_for_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first run counts its backlog (and starts its processes) before it takes the write lock, then
    marks judged only the rowids it handed out. A post a crawl queues in between, past that range, and
    an edit of an older post, before it, are neither marked judged unread: the next run judges them."""
    import os

    import detection.service as service

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: detection judges in one process")
    path = tmp_path / "d.db"
    db = open_db(path)
    tid = target(db, "大号")
    post(db, tid, 0, 50)
    check(db, tid, "ok")
    detect(db, as_of=AS_OF)  # post 0 judged, in process
    for n in range(1, 30):
        post(db, tid, n, n + 1)
    monkeypatch.setattr(service, "JUDGE_PARALLEL_FROM", 1)
    counted = service._Judging.__init__

    def crawl_writes_meanwhile(self: Any, *args: Any, **kwargs: Any) -> None:
        counted(self, *args, **kwargs)
        assert self.pool is not None  # the backlog is judged in processes
        other = open_db(path)
        with other.conn:
            closing = {"title": "关于本公众号停止更新的公告", "text": "本公众号自2026年7月1日起停止更新。"}
            post(other, tid, 99, 0.5, **closing)
            other.execute(
                "UPDATE posts SET title = ?, text = ? WHERE post_id = ?",
                ["账号注销公告", "本账号将于2026年7月15日注销。", f"{tid}-0"],
            )
        other.close()

    monkeypatch.setattr(service._Judging, "__init__", crawl_writes_meanwhile)

    def unjudged() -> set[str]:
        return {
            r[0]
            for r in db.execute(
                "SELECT p.post_id FROM post_features f JOIN posts p ON p.id = f.post_rowid "
                "WHERE f.notice_checked = 0"
            )
        }

    detect(db, as_of=AS_OF)
    assert unjudged() == {f"{tid}-99", f"{tid}-0"}
    monkeypatch.setattr(service._Judging, "__init__", counted)
    detect(db, as_of=AS_OF)
    assert unjudged() == set()
    notices = db.execute(
        "SELECT p.post_id FROM post_features f JOIN posts p ON p.id = f.post_rowid WHERE f.notice IS NOT NULL"
    ).fetchall()
    assert sorted(r[0] for r in notices) == sorted([f"{tid}-99", f"{tid}-0"])


def test_the_windows_simhashes_are_read_from_an_index_alone(db: Database) -> None:
    # Every run reads the SimHashes of the duplicate window (173,000 rows at 1,000,000 posts): from the
    # covering index (m140), not one table lookup per row.
    from db import detection as q

    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    q.simhashes(db, since=ago(30), as_of=ago(0))
    db.conn.set_trace_callback(None)
    (sql,) = [s for s in statements if "simhash" in s]
    plan = " ".join(row[3] for row in db.conn.execute("EXPLAIN QUERY PLAN " + sql))
    assert "COVERING INDEX post_features_window" in plan, plan
