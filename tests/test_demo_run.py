"""`make demo` refuses a busy port before crawling anything: the demo world's and Datasette's."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ROOT


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "demo.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_busy_demo_world_port_is_refused(busy_port: int, tmp_path: Path) -> None:
    db = tmp_path / "demo" / "monitor.db"
    proc = demo("--port", str(busy_port), "--no-serve", "--db", str(db))
    assert proc.returncode == 2
    assert f"demo world port {busy_port} is busy" in proc.stderr
    assert "DEMO_PORT=" in proc.stderr
    assert not db.parent.exists()  # nothing crawled, nothing written


def test_a_busy_datasette_port_is_refused_before_the_crawl(busy_port: int, tmp_path: Path) -> None:
    db = tmp_path / "demo" / "monitor.db"
    proc = demo("--port", "0", "--serve-port", str(busy_port), "--db", str(db))
    assert proc.returncode == 2
    assert f"Datasette port {busy_port} is busy" in proc.stderr
    assert "demo world: picked free port" in proc.stdout
    assert not db.parent.exists()
