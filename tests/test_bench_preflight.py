"""`make bench` says what the machine lacks before it spends minutes on the benches before it."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_a_missing_redis_server_is_named_before_any_bench_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench.run as run

    monkeypatch.setattr(run, "REDIS_SERVER", str(tmp_path / "no-redis-server"))
    monkeypatch.setattr(run.tempfile, "mkdtemp", lambda **_: pytest.fail("a bench started"))
    with pytest.raises(SystemExit) as exit_:
        run.main(["--only", "province", "--out", str(tmp_path / "results.json")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "redis-server" in err
    assert "apt install redis-server" in err
    assert run.missing_tools(["detection", "datasette"]) == []
