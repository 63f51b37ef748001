"""Retry-After is honoured without holding a download slot: the crawl goes on while a retry waits."""

from __future__ import annotations

import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import yaml

from tests.helpers import fixture_path, run_scrapy

FEED = fixture_path("feed", "rss_wechat_bridge.xml").read_bytes()


class Busy(BaseHTTPRequestHandler):
    """/busy.xml answers 429 (Retry-After: 2) the first time; every feed is recorded as it arrives."""

    protocol_version = "HTTP/1.1"
    arrivals: ClassVar[list[tuple[str, float]]] = []
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        with self.lock:
            first = not any(p == self.path for p, _ in self.arrivals)
            self.arrivals.append((self.path, time.monotonic()))
        if self.path == "/busy.xml" and first:
            self.send_response(429)
            self.send_header("Retry-After", "2")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)


def test_a_retry_waits_outside_the_downloader(tmp_path: Path, db_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    rows = [
        {"platform": "feed", "name": "忙碌的源", "feed": f"{base}/busy.xml"},
        {"platform": "feed", "name": "空闲的源", "feed": f"{base}/idle.xml"},
    ]
    targets = tmp_path / "t.yaml"
    targets.write_text(yaml.safe_dump({"targets": rows}, allow_unicode=True), encoding="utf-8")
    try:
        run_scrapy("import-targets", str(targets), db_path=db_path)
        # One request at a time: a retry that slept in the downloader would hold the only slot.
        run_scrapy(
            "crawl",
            "feed",
            "-s",
            "CONCURRENT_REQUESTS=1",
            "-s",
            "CONCURRENT_REQUESTS_PER_DOMAIN=1",
            db_path=db_path,
        )
    finally:
        server.shutdown()
    times = {}
    for path, at in Busy.arrivals:
        times.setdefault(path, []).append(at)
    first, retry = times["/busy.xml"]
    (idle,) = times["/idle.xml"]
    assert idle - first < 1.0  # the other feed went while the busy one waited
    assert retry - first >= 1.9  # and the wait was the one Retry-After asked for
    with sqlite3.connect(db_path) as conn:
        outcomes = dict(
            conn.execute("SELECT t.name, c.outcome FROM checks c JOIN targets t ON t.id = c.target_id")
        )
        stats = conn.execute("SELECT stats FROM runs WHERE spider = 'feed'").fetchone()[0]
    assert outcomes == {"忙碌的源": "ok", "空闲的源": "ok"}  # one check each: the 429 left none of its own
    assert '"monitor/retry_waits": 1' in stats
