"""Shared test helpers: project paths, scrapy subprocesses, the demo world in a thread, fixtures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse, Request, TextResponse

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("fixtures")
SHARED_REAL = ROOT.parent / "shared" / "fixtures" / "real"
BIN = Path(sys.executable).parent
AS_OF = "2026-06-30T12:00:00+08:00"  # the demo world's frozen clock in tests


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
