"""`make demo`: serve the demo world, import its targets, crawl it with every spider, serve Datasette."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from core.clock import parse_as_of
from demo.server import targets_yaml
from demo.world import World

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_TARGETS = ROOT / "targets" / "demo.yaml"
SHIPPED_PORT = 8765
# The whole daily sequence, as cron runs it: every spider, then detection, alerts, one summary.
CRAWL: list[str] = ["crawlall"]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} after {timeout}s")


def port_problem(port: int, what: str, option: str) -> str | None:
    """Why ``port`` cannot be ours (something already listens there), or None when it is free."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            return (
                f"{what} port {port} is busy ({exc.strerror}): something else listens there. Stop it, or "
                f"pick another port: make demo {option}=<port> (0 picks a free one)"
            )
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrapy(*args: str, env: dict[str, str]) -> None:
    exe = str(Path(sys.executable).with_name("scrapy"))
    subprocess.run([exe, *args], cwd=ROOT, env=env, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.run", description=__doc__)
    parser.add_argument("--port", type=int, default=SHIPPED_PORT, help="demo world port")
    parser.add_argument("--serve-port", type=int, default=8001, help="Datasette port")
    parser.add_argument("--db", default="data/demo/monitor.db")
    parser.add_argument("--as-of", default=None, help="the world's clock (default: now)")
    parser.add_argument("--no-serve", action="store_true", help="stop after crawling")
    args = parser.parse_args(argv)
    # A busy port is refused up front: the crawl would read whatever answers there, and Datasette would
    # fail to bind after printing its URL. Port 0 picks a free one (and says which).
    for name, what, option in (
        ("port", "demo world", "DEMO_PORT"),
        ("serve_port", "Datasette", "SERVE_PORT"),
    ):
        if getattr(args, name) == 0:
            setattr(args, name, free_port())
            print(f"{what}: picked free port {getattr(args, name)}", flush=True)
        elif name == "port" or not args.no_serve:
            problem = port_problem(getattr(args, name), what, option)
            if problem:
                print(f"make demo: {problem}", file=sys.stderr, flush=True)
                return 2

    db = ROOT / args.db
    if db.parent.exists():
        shutil.rmtree(db.parent)  # the demo starts from nothing every time
    db.parent.mkdir(parents=True)
    world_cmd = [sys.executable, "-m", "demo", "serve", "--port", str(args.port)]
    if args.as_of:
        world_cmd += ["--as-of", args.as_of]
    env = {**os.environ, "MONITOR_DB": str(db), "MONITOR_LOCAL_WORLD": "1"}
    # The demo MP session (issue 4): the world's /cgi-bin/appmsgpublish accepts exactly these.
    from demo.wechat import DEMO_COOKIE, DEMO_TOKEN

    env.setdefault("MONITOR_WECHAT_TOKEN", DEMO_TOKEN)
    env.setdefault("MONITOR_WECHAT_COOKIE", DEMO_COOKIE)
    if args.as_of:
        env["MONITOR_AS_OF"] = args.as_of
    log = (db.parent / "world.log").open("w")
    world = subprocess.Popen(world_cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    try:
        wait_for_port(args.port)
        if world.poll() is not None:
            print(f"make demo: the demo world exited ({world.returncode}); see {db.parent / 'world.log'}")
            return 2
        print(f"demo world: http://127.0.0.1:{args.port}/", flush=True)
        targets = SHIPPED_TARGETS
        if args.port != SHIPPED_PORT:
            targets = db.parent / "targets.yaml"
            targets.write_text(
                targets_yaml(World(as_of=parse_as_of(args.as_of)), f"http://127.0.0.1:{args.port}"),
                encoding="utf-8",
            )
        scrapy("import-targets", str(targets), env=env)
        scrapy(*CRAWL, env=env)  # alerts go to $MONITOR_NOTIFY when it is set
        print(f"crawled the demo world in {time.monotonic() - started:.1f}s -> {db}", flush=True)
        if args.no_serve:
            return 0
        from db.serve import datasette_command

        problem = port_problem(args.serve_port, "Datasette", "SERVE_PORT")
        if problem:  # taken while we crawled
            print(f"make demo: {problem}", file=sys.stderr, flush=True)
            return 2
        print(f"\nDatasette: http://127.0.0.1:{args.serve_port}/  (Ctrl-C stops the demo)\n", flush=True)
        code = 0
        with contextlib.suppress(KeyboardInterrupt):
            code = subprocess.run(
                datasette_command(db, port=args.serve_port), cwd=ROOT, check=False
            ).returncode
        return code
    finally:
        world.terminate()
        world.wait(timeout=10)
        log.close()


if __name__ == "__main__":
    raise SystemExit(main())
