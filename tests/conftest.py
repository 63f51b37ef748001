"""Fixtures: the demo world on a free port (served from a thread), a fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clock import parse_iso
from demo.http import serve_in_thread
from demo.server import build_server, targets_yaml
from demo.world import World
from tests.helpers import AS_OF, DemoWorld, free_port


def start_world(tmp: Path, **world_kwargs: object) -> tuple[DemoWorld, object]:
    world = World(as_of=parse_iso(AS_OF), **world_kwargs)  # type: ignore[arg-type]
    port = free_port()
    server = build_server(world, "127.0.0.1", port)
    serve_in_thread(server)
    base = f"http://127.0.0.1:{port}"
    targets = tmp / "demo-targets.yaml"
    targets.write_text(targets_yaml(world, base), encoding="utf-8")
    return DemoWorld(base, port, world, targets), server


@pytest.fixture
def demo_world(tmp_path: Path) -> Iterator[DemoWorld]:
    dw, server = start_world(tmp_path)
    yield dw
    server.shutdown()  # type: ignore[attr-defined]
    server.server_close()  # type: ignore[attr-defined]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "monitor.db"
