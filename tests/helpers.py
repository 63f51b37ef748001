"""Shared test helpers: project paths, scrapy subprocesses, the demo world in a thread, fixtures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from scrapy.http import HtmlResponse, Request, TextResponse

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("fixtures")
SHARED_REAL = ROOT.parent / "shared" / "fixtures" / "real"
BIN = Path(sys.executable).parent
AS_OF = "2026-06-30T12:00:00+08:00"  # the demo world's frozen clock in tests


@contextmanager
def answering(answer: Callable[[str], tuple[bytes, str]]) -> Iterator[str]:
    """A local HTTP server in a thread that answers every GET 200 with ``answer(path)`` (body, content
    type); yields its base URL and stops it after."""

    class Answers(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            body, ctype = answer(self.path)
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def write_targets(folder: Path, rows: list[dict[str, Any]]) -> Path:
    """A targets file of ``rows`` in ``folder``, as `scrapy import-targets` reads it."""
    path = folder / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": rows}, allow_unicode=True), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrapy_env(db_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "MONITOR_DB": str(db_path),
        "MONITOR_LOCAL_WORLD": "1",
        "MONITOR_AS_OF": AS_OF,
        "PYTHONDONTWRITEBYTECODE": "1",
        # Evidence capture (Chromium screenshots) only where a test asks for it (conftest world_crawl).
        "MONITOR_EVIDENCE": "0",
    }
    env.update(extra)
    return env


def run_scrapy(
    *args: str,
    db_path: Path,
    check: bool = True,
    timeout: float = 300,
    stdin: str | None = None,
    **extra: str,
) -> subprocess.CompletedProcess[str]:
    """`scrapy ARGS` in the project directory, as a user (or cron) would run it (``stdin`` piped in)."""
    proc = subprocess.run(
        [str(BIN / "scrapy"), *args],
        cwd=ROOT,
        env=scrapy_env(db_path, **extra),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"scrapy {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


@dataclass
class DemoWorld:
    base: str
    port: int
    world: Any
    targets_file: Path


def fixture_path(platform: str, name: str) -> Path:
    return FIXTURES / platform / name


def fixture_response(
    platform: str,
    name: str,
    url: str,
    *,
    encoding: str | None = None,
    headers: dict[str, str] | None = None,
) -> TextResponse:
    """A Scrapy response for a saved page, with the URL and encoding it was served with."""
    body = fixture_path(platform, name).read_bytes()
    cls = HtmlResponse if name.endswith((".html", ".htm")) else TextResponse
    return cls(url=url, body=body, encoding=encoding, headers=headers, request=Request(url))
