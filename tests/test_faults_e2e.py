"""Hostile answers through the real entry points: the demo world's healthy accounts behind the fault
server (faults/server.py), crawled by every spider at once, then `scrapy detect`.

Each fault class gets its outcome (a wall is login_required/blocked, a gzip bomb oversized, an empty or
non-HTML homepage its own outcome...), a portal homepage that is not a readable page gives no site row
and so no site-meta finding, a charset mistake reads right, a parser meets a JSON field of the wrong
type and loses that field, the MP token reaches no other origin, no row and no log line, and a bad
option fails its own target only. `make faults` runs the whole matrix, hangs included.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.clock import parse_iso
from demo import wechat
from demo.http import serve_in_thread
from demo.server import build_server
from demo.wechat import DEMO_COOKIE, DEMO_TOKEN
from demo.world import World
from faults.server import FAULTS, FaultWorld, Stage
from faults.targets import Planted, campaign_targets, expected_rules
from tests.conftest import CREDENTIALS
from tests.helpers import AS_OF, BIN, ROOT, run_scrapy, scrapy_env

ENTRY = (
    "login_redirect",
    "captcha",
    "captcha_redirect",
    "malformed",
    "gzip_bomb",
    "huge",
    "empty",
    "not_html",
    "gbk_declared_utf8",
    "utf8_declared_gbk",
    "http429_retry_after",
    "http503_retry_after",
    "redirect_loop",
    "wrong_json_types",
    "truncated",
    "reset",
)
DEEP = ("gbk_declared_utf8", "captcha")
SPIDERS = ("portal", "feed", "wechat", "weibo")
SECRETS = (DEMO_TOKEN, DEMO_COOKIE.split("slave_sid=")[1])


@dataclass
class FaultCrawl:
    db_path: Path
    planted: list[Planted]
    faults: FaultWorld
    logs: dict[str, str]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql, params).fetchall()

    def outcomes(self, kinds: tuple[str, ...]) -> dict[tuple[str, str], set[str]]:
        """(stage, platform) -> outcomes of its first-fetch checks."""
        marks = ",".join("?" for _ in kinds)
        out: dict[tuple[str, str], set[str]] = {}
        for name, platform, outcome in self.query(
            "SELECT t.name, t.platform, c.outcome FROM checks c JOIN targets t ON t.id = c.target_id "
            f"WHERE c.kind IN ({marks})",
            kinds,
        ):
            out.setdefault((name.split("·", 1)[-1], platform), set()).add(outcome)
        return out


@pytest.fixture(scope="module")
def fault_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultCrawl]:
    tmp = tmp_path_factory.mktemp("fault-crawl")
    world = World(as_of=parse_iso(AS_OF))
    server = build_server(world, "127.0.0.1", 0)
    server.handle_error = lambda *args: None  # type: ignore[method-assign]
    serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    stages = [Stage(FAULTS[f], "entry") for f in ENTRY] + [Stage(FAULTS[f], "deep") for f in DEEP]
    faults = FaultWorld(world, stages)
    faults.start()
    rows, planted = campaign_targets(world, base, faults, demo=False)
    # Two URL-list targets, the first with an article URL the importer would refuse (no scheme).
    urls = [t for t in wechat.targets(world, base) if "wechat_urls" in t["tags"]][:2]
    expected = expected_rules(world, base)
    for i, row in enumerate(urls):
        allowed = expected.get((row["name"], "wechat"), frozenset())
        row["name"] = f"{row['name']}·urls-{i}"
        row["handle"] = base64.b64encode(f"urls-{i}".encode()).decode()
        rows.append(row)
        planted.append(Planted(row["name"], "wechat", row["name"], f"urls-{i}", allowed))
    targets = tmp / "targets.yaml"
    targets.write_text(yaml.safe_dump({"targets": rows}, allow_unicode=True), encoding="utf-8")
    db_path = tmp / "monitor.db"
    run_scrapy("import-targets", str(targets), db_path=db_path)
    with sqlite3.connect(db_path) as conn:
        bad = '{"mode": "urls", "article_urls": ["mp.weixin.qq.com/s?__biz=x&mid=1"]}'
        conn.execute("UPDATE targets SET options = ? WHERE name = ?", (bad, urls[0]["name"]))
    env = scrapy_env(db_path, **CREDENTIALS)
    procs = {
        s: subprocess.Popen(
            [str(BIN / "scrapy"), "crawl", s],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for s in SPIDERS
    }
    logs = {}
    for spider, proc in procs.items():
        out, _ = proc.communicate(timeout=240)
        logs[spider] = out.decode(errors="replace")
        assert proc.returncode == 0, logs[spider][-3000:]
    run_scrapy("detect", db_path=db_path)
    yield FaultCrawl(db_path, planted, faults, logs)
    faults.stop()
    server.shutdown()


def test_each_hostile_homepage_gets_its_outcome(fault_crawl: FaultCrawl) -> None:
    probes = fault_crawl.outcomes(("probe",))
    expected = {
        "login_redirect": "login_required",
        "captcha": "blocked",
        "captcha_redirect": "blocked",
        "http429_retry_after": "blocked",
        "malformed": "malformed",
        "gzip_bomb": "oversized",
        "huge": "oversized",
        "empty": "empty",
        "not_html": "not_html",
        "redirect_loop": "redirect_loop",
        "http503_retry_after": "server_error",
        "truncated": "connection_error",
        "reset": "connection_error",
        "gbk_declared_utf8": "ok",
        "utf8_declared_gbk": "ok",
    }
    for fault, outcome in expected.items():
        assert probes[(f"{fault}@entry", "portal")] == {outcome}, fault


def test_a_homepage_that_is_not_a_page_gives_no_site_row_and_no_site_finding(fault_crawl: FaultCrawl) -> None:
    sites = {
        n.split("·", 1)[1]: (enc, undated)
        for n, enc, undated in fault_crawl.query(
            "SELECT t.name, s.encoding, s.homepage_undated FROM sites s JOIN targets t ON t.id = s.target_id"
        )
    }
    read = {
        "gbk_declared_utf8@entry",
        "utf8_declared_gbk@entry",
        "wrong_json_types@entry",
        "gbk_declared_utf8@deep",
    }
    assert read <= set(sites)
    assert not {f"{f}@entry" for f in ENTRY} - read & set(sites)  # no row for any unreadable homepage
    # charset mistakes decoded by evidence, and said so: every homepage row dated
    assert sites["gbk_declared_utf8@entry"] == ("gb18030 (declared utf-8)", 0)
    assert sites["utf8_declared_gbk@entry"] == ("utf-8 (declared gb18030)", 0)
    found = fault_crawl.query(
        "SELECT t.name, f.rule FROM findings f JOIN targets t ON t.id = f.target_id WHERE f.rule IN "
        "('portal.invalid_site_id_code', 'portal.homepage_stale', 'portal.column_stale', "
        "'portal.columns_stale')"
    )
    assert found == []


def test_a_refusal_is_not_an_outage(fault_crawl: FaultCrawl) -> None:
    unreachable = {
        n.split("·", 1)[1]
        for (n,) in fault_crawl.query(
            "SELECT t.name FROM findings f JOIN targets t ON t.id = f.target_id "
            "WHERE f.rule = 'portal.unreachable'"
        )
    }
    for fault in (
        "login_redirect",
        "captcha",
        "captcha_redirect",
        "http429_retry_after",
        "gzip_bomb",
        "huge",
    ):
        assert f"{fault}@entry" not in unreachable
    assert {"empty@entry", "reset@entry"} <= unreachable  # these did not open


def test_each_hostile_account_answer_gets_its_outcome(fault_crawl: FaultCrawl) -> None:
    lists = fault_crawl.outcomes(("feed", "api"))
    for platform in ("feed", "wechat", "weibo"):
        assert lists[("login_redirect@entry", platform)] == {"login_required"}, platform
        assert lists[("captcha@entry", platform)] == {"blocked"}, platform
        assert lists[("gzip_bomb@entry", platform)] == {"oversized"}, platform
        assert lists[("huge@entry", platform)] == {"oversized"}, platform
        assert lists[("empty@entry", platform)] == {"empty"}, platform
        assert lists[("malformed@entry", platform)] == {"malformed"}, platform
        assert lists[("redirect_loop@entry", platform)] == {"redirect_loop"}, platform
        assert lists[("http429_retry_after@entry", platform)] == {"blocked"}, platform
        assert lists[("gbk_declared_utf8@entry", platform)] == {"ok"}, platform


def test_charset_mistakes_read_right_everywhere(fault_crawl: FaultCrawl) -> None:
    rows = fault_crawl.query(
        "SELECT t.name, t.platform, p.title, p.text, p.published_at FROM posts p "
        "JOIN targets t ON t.id = p.target_id WHERE t.name LIKE '%declared%'"
    )
    assert {r[1] for r in rows} == {"feed", "wechat", "weibo"}
    for name, platform, title, text, published in rows:
        assert "\ufffd" not in f"{title}{text}", (name, platform, title)
        assert published, (name, platform)
    undated = fault_crawl.query(
        "SELECT count(*), sum(ci.published_at IS NULL) FROM column_items ci "
        "JOIN columns c ON c.id = ci.column_id JOIN targets t ON t.id = c.target_id "
        "WHERE t.name LIKE '%gbk_declared_utf8@deep'"
    )
    items, without_date = undated[0]
    assert items > 0
    assert without_date == 0  # GBK column pages under charset=utf-8: all dated


def test_a_field_of_the_wrong_type_loses_that_field(fault_crawl: FaultCrawl) -> None:
    for log in fault_crawl.logs.values():
        assert "Traceback" not in log
        assert "parse error" not in log
    posts = fault_crawl.query(
        "SELECT count(*) FROM posts p JOIN targets t ON t.id = p.target_id "
        "WHERE t.name LIKE '%wrong_json_types%'"
    )
    assert posts[0][0] > 0
    stats = [
        json.loads(r[0])
        for r in fault_crawl.query("SELECT stats FROM runs WHERE spider IN ('weibo', 'wechat')")
    ]
    assert any(k.startswith("monitor/bad_field/") for st in stats for k in st)  # counted, kept in runs


def test_only_what_a_fault_justifies_is_found(fault_crawl: FaultCrawl) -> None:
    found: dict[tuple[str, str], set[str]] = {}
    for name, platform, rule in fault_crawl.query(
        "SELECT t.name, t.platform, f.rule FROM findings f JOIN targets t ON t.id = f.target_id "
        "WHERE f.resolved_at IS NULL"
    ):
        found.setdefault((name, platform), set()).add(rule)
    false = {
        (p.name, rule)
        for p in fault_crawl.planted
        for rule in found.get((p.name, p.platform), set()) - p.allowed
    }
    assert false == set()


def test_the_mp_token_reaches_no_other_origin_no_row_and_no_log(fault_crawl: FaultCrawl) -> None:
    seen = fault_crawl.faults.collector.seen
    assert any(path.startswith("/s?") for path, _ in seen)  # the articles on the other origin were read
    assert any(path.startswith("/collect/") for path, _ in seen)  # the cross-domain redirect was followed
    for path, headers in seen:
        for secret in SECRETS:
            assert secret not in f"{path} {headers}", (path, headers)
    with sqlite3.connect(fault_crawl.db_path) as conn:
        dump = "\n".join(conn.iterdump())
    for secret in SECRETS:
        assert secret not in dump
        assert all(secret not in log for log in fault_crawl.logs.values())
    (sso,) = fault_crawl.query(
        "SELECT c.outcome, c.final_url FROM checks c JOIN targets t ON t.id = c.target_id "
        "WHERE t.name LIKE '%secret-sso' AND c.kind = 'api'"
    )
    assert sso[0] == "login_required"
    assert "/sso/login?service=" in sso[1]
    assert "appmsgpublish" in sso[1]  # stored, and redacted (no token in the dump above)


def test_a_bad_option_fails_its_own_target_only(fault_crawl: FaultCrawl) -> None:
    checks = fault_crawl.query(
        "SELECT t.name, c.outcome FROM checks c JOIN targets t ON t.id = c.target_id "
        "WHERE t.name LIKE '%·urls-%'"
    )
    first = {o for n, o in checks if n.endswith("urls-0")}
    second = {o for n, o in checks if n.endswith("urls-1")}
    assert first == {"invalid_target"}
    assert second  # the target after it still started
    assert "invalid_target" not in second
    assert "cannot be requested" in fault_crawl.logs["wechat"]
