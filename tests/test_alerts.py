"""Alerts arrive where offices work, once: a local JSON webhook and a local SMTP server stand in for WeCom,
DingTalk or a mailbox. The texts are pure functions, tested directly."""

from __future__ import annotations

import email
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alerts.channels import mask_url, secrets_of
from alerts.digest import MAX_LINES, FindingChange, compose_digest, evidence_link, fold_changes
from db import open_db
from tests.conftest import CREDENTIALS
from tests.helpers import free_port, run_scrapy

DIGEST = "巡检提醒："
TOKEN = "k3y-0f-the-office-b0t-2026"  # the secret part of the webhook URL; must never reach a log


@dataclass
class Inbox:
    webhook: list[dict[str, Any]] = field(default_factory=list)
    mail: list[email.message.Message] = field(default_factory=list)
    urls: str = ""

    def clear(self) -> None:
        self.webhook.clear()
        self.mail.clear()

    def titles(self) -> list[str]:
        return [m["title"] for m in self.webhook]


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    box = Inbox()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            box.webhook.append({**json.loads(body), "path": self.path})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Mailbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.mail.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    http = ThreadingHTTPServer(("127.0.0.1", free_port()), Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    smtp = controller_mod.Controller(Mailbox(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    box.urls = (
        f"json://127.0.0.1:{http.server_address[1]}/hooks/{TOKEN} "
        f"mailto://example.com?smtp=127.0.0.1&port={smtp.port}&from=bot@example.com&to=office@example.com"
        "&mode=insecure"
    )
    yield box
    smtp.stop()
    http.shutdown()
    http.server_close()


def mail_text(message: email.message.Message) -> tuple[str, str]:
    subject = str(make_header(decode_header(message["Subject"])))
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return subject, part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def open_vetoes(db_path: Path) -> list[dict[str, Any]]:
    db = open_db(db_path)
    try:
        return list(db.query("SELECT * FROM findings_view WHERE severity = 'veto' AND state = 'open'"))
    finally:
        db.close()


def test_the_digest_arrives_once_across_two_identical_runs(crawl_copy: Path, inbox: Inbox) -> None:
    inbox.clear()
    vetoes = open_vetoes(crawl_copy)
    assert vetoes
    first = run_scrapy("detect", db_path=crawl_copy, MONITOR_NOTIFY=inbox.urls)
    second = run_scrapy("detect", db_path=crawl_copy, MONITOR_NOTIFY=inbox.urls)
    assert "sent" in first.stdout.rpartition("alerts: ")[2]
    assert "alerts: nothing new to send" in second.stdout
    # one digest per channel (without a browser the shared crawl's runs add a health notice too)
    digests = [m for m in inbox.webhook if m["title"].startswith(DIGEST)]
    mails = [mail_text(m) for m in inbox.mail if mail_text(m)[0].startswith(DIGEST)]
    assert len(digests) == 1
    assert len(mails) == 1
    hook = digests[0]
    assert hook["path"] == f"/hooks/{TOKEN}"
    assert hook["title"] == f"巡检提醒：新增单项否决问题 {len(vetoes)} 项，已整改 0 项"
    for v in vetoes:
        assert f"{v['target_name']}（" in hook["message"]
        assert f"指标：{v['indicator']}" in hook["message"]
        link = evidence_link(v["evidence"])
        if link:
            assert f"证据：{link}" in hook["message"]
    subject, body = mails[0]
    assert (subject, body.replace("\r\n", "\n").strip()) == (hook["title"], hook["message"].strip())
    for proc in (first, second):
        assert TOKEN not in proc.stdout + proc.stderr
    db = open_db(crawl_copy)
    try:
        sent = list(db.query("SELECT DISTINCT channel_url, kind FROM notifications"))
    finally:
        db.close()
    assert "finding" in {r["kind"] for r in sent}
    assert all(TOKEN not in r["channel_url"] for r in sent)


def test_missing_browser_warns_records_and_alerts(crawl_copy: Path, inbox: Inbox) -> None:
    """MONITOR_CHROMIUM points nowhere: a warning when the crawl starts, a no_browser problem on the run, a
    failed browser monitor, and a crawler-health notice (on top of the digest of what was open)."""
    inbox.clear()
    env = {**CREDENTIALS, "MONITOR_NOTIFY": inbox.urls, "MONITOR_CHROMIUM": "/nonexistent/chromium"}
    proc = run_scrapy("crawl", "wechat", db_path=crawl_copy, **env)
    warning = proc.stderr.index("Chromium not found at /nonexistent/chromium")
    assert "apt-get install chromium" in proc.stderr[warning : warning + 400]
    assert warning < proc.stderr.index("wechat: ")  # before any progress line: at the start
    db = open_db(crawl_copy)
    try:
        run = next(db.query("SELECT * FROM run_health WHERE spider = 'wechat' ORDER BY run_id DESC LIMIT 1"))
    finally:
        db.close()
    assert (run["health"], run["monitors_failed"]) == ("failed", "browser")
    assert "no_browser" in run["problems"]
    assert run["trusted"] == 1  # only the targets that needed the browser are held
    health = [m for m in inbox.webhook if m["title"].startswith("巡检爬虫运行异常")]
    assert len(health) == 1
    assert "缺少浏览器 browser" in health[0]["message"]
    assert f"运行 {run['run_id']} · wechat" in health[0]["message"]
    assert "健康 health    FAILED" in proc.stdout
    assert "browser: no_browser" in proc.stdout
    # the same failed run is not announced again
    inbox.clear()
    again = run_scrapy("detect", db_path=crawl_copy, MONITOR_NOTIFY=inbox.urls)
    assert "alerts: nothing new to send" in again.stdout
    assert inbox.webhook == []


def change(event_id: int, finding_id: int, event: str, **kw: Any) -> FindingChange:
    base = {
        "target": "临江发布",
        "platform": "wechat",
        "label": "监测时间点前2周内无更新",
        "indicator": "政务新媒体·内容不更新",
        "subject": "",
        "evidence": json.dumps({"newest_post_at": "2026-06-10", "url": "http://127.0.0.1/a"}),
        "target_url": "http://127.0.0.1/t",
    }
    return FindingChange(event_id, finding_id, event, **{**base, **kw})


def test_fold_changes_one_line_per_finding_by_its_latest_event() -> None:
    changes = [
        change(1, 10, "opened"),
        change(2, 11, "resolved"),
        change(3, 12, "opened"),
        change(4, 12, "resolved"),  # opened and resolved before anything was sent: nothing to say
        change(5, 13, "resolved"),
        change(6, 13, "reopened"),  # back again: opened
    ]
    opened, resolved = fold_changes(changes)
    assert [c.finding_id for c in opened] == [10, 13]
    assert [c.finding_id for c in resolved] == [11]


def test_compose_digest_lists_target_indicator_and_evidence() -> None:
    title, body = compose_digest([change(1, 10, "opened")], [], desk_url="http://127.0.0.1:8001")
    assert title == "巡检提醒：新增单项否决问题 1 项，已整改 0 项"
    assert "1. 临江发布（微信公众号）" in body
    assert "指标：政务新媒体·内容不更新 — 监测时间点前2周内无更新" in body
    assert "证据：http://127.0.0.1/a" in body
    assert "详情：http://127.0.0.1:8001/monitor/findings/10" in body
    many = [change(i, i, "opened") for i in range(MAX_LINES + 5)]
    assert "另有 5 项" in compose_digest(many, [])[1]


def test_evidence_link_prefers_the_page_and_falls_back() -> None:
    assert evidence_link({"homepage_url": "http://a/", "url": "http://b/x"}) == "http://b/x"
    assert evidence_link('{"days": 3, "seen": "https://c/"}') == "https://c/"
    assert evidence_link({"days": 3}) is None
    assert evidence_link(None) is None
    # no link in the evidence: the target's own address
    _, body = compose_digest([change(1, 1, "opened", evidence='{"days": 3}')], [])
    assert "证据：http://127.0.0.1/t" in body


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        (f"json://127.0.0.1:9/hooks/{TOKEN}", TOKEN),
        ("wecombot://AbCdEf0123456789abcdef", "AbCdEf0123456789abcdef"),
        ("dingtalk://0123456789abcdef0123456789abcdef/", "0123456789abcdef0123456789abcdef"),
        ("mailto://bot:s3cret-passw0rd@example.com?smtp=127.0.0.1&to=a@example.com", "s3cret-passw0rd"),
        ("nonsense://whatever-token-value", "whatever-token-value"),
    ],
)
def test_urls_are_masked(url: str, secret: str) -> None:
    assert secret not in mask_url(url)
    assert secret in secrets_of(url)
