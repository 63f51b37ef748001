"""A real redis-server on a free loopback port, and background scrapy processes, for distributed tests."""

from __future__ import annotations

import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.enums import DERIVED_STATUSES
from tests.helpers import BIN, ROOT, free_port, scrapy_env

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def start_redis(port: int, tmp: Path, *, persistent: bool = False) -> subprocess.Popen[bytes]:
    """redis-server on ``port``, its files in ``tmp`` (``persistent``: every write in its append-only
    file, so a restart finds the data again); returns once it answers PING."""
    persistence = ["--appendonly", "yes", "--appendfsync", "always"] if persistent else ["--appendonly", "no"]
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", *persistence, "--dir", str(tmp)]
    proc = subprocess.Popen(
        [REDIS_SERVER, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """Start redis-server (no persistence) on a free port; yield its URL; stop it."""
    port = free_port()
    proc = start_redis(port, tmp)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# Every process start_scrapy started: a test that fails midway leaves none running (stop_started).
STARTED: list[subprocess.Popen[bytes]] = []


def start_scrapy(*args: str, db_path: Path, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    """`scrapy ARGS` in the background, its output in ``log``."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "scrapy"), *args], cwd=ROOT, env=scrapy_env(db_path, **extra), stdout=out, stderr=out
        )
    STARTED.append(proc)
    return proc


def stop_started() -> None:
    """Kill what start_scrapy started and is still running (a stopped process is woken to die)."""
    for proc in STARTED:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait(timeout=10)
    STARTED.clear()


def wait_all(procs: list[subprocess.Popen[bytes]], logs: list[Path], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for proc, log in zip(procs, logs, strict=True):
        code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
        if code != 0:
            raise AssertionError(f"{log.name} exited {code}:\n{log.read_text()[-6000:]}")


# What a crawl found, without what differs between two crawls of the same world (ids, run ids, the
# clock, latencies): compared as multisets, so a duplicate row shows.
COMPARED = {
    "posts": "target_id, platform, post_id, url, title, text, author, published_at, kind, is_original, "
    "is_repost, repost_source, is_pinned, text_length, image_count, video_count, reposts_count, "
    "comments_count, likes_count, reads_count",
    "checks": "target_id, kind, url, final_url, found_on, method, http_status, outcome, ok, error",
    "accounts": "target_id, name, followers, followers_text, verified, verified_type, verified_reason, "
    "description, posts_count, status, status_reason, evidence_url",
    "sites": "target_id, homepage_url, final_url, site_name, site_domain, site_id_code, icp, organizer, "
    "homepage_items, homepage_undated, homepage_newest_at",
    "columns": "target_id, url, name, kind, column_type, source, status, item_count, undated_count, "
    "newest_item_at, pages_followed, error",
    "column_items": "target_id, url, title, published_at, date_source",
    "messages": "target_id, board_url, board_kind, message_id, url, title, status, asked_at, answered_at",
    "http_validators": "url, target_id, etag, last_modified",
    "run_targets": "target_id, spider, requests, not_modified, new_posts, blocked",
}


def crawl_rows(db_path: Path) -> dict[str, Counter[tuple[Any, ...]]]:
    derived = ", ".join(f"'{s}'" for s in DERIVED_STATUSES)
    with sqlite3.connect(db_path) as conn:
        out = {}
        for table, cols in COMPARED.items():
            where = f" WHERE status NOT IN ({derived})" if table == "accounts" else ""
            out[table] = Counter(tuple(r) for r in conn.execute(f"SELECT {cols} FROM {table}{where}"))
        return out
