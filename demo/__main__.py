"""Command line for the demo world: `python -m demo serve|targets`."""

from __future__ import annotations

import argparse
import contextlib
import sys

from core.clock import now, parse_as_of
from demo.server import build_server, targets_yaml
from demo.world import PLANTED, World


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="The offline demo world. Example: python -m demo serve --port 8765",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("serve", "targets"):
        p = sub.add_parser(name)
        p.add_argument("--as-of", help="the world's clock (ISO date/datetime; default: now)")
        p.add_argument(
            "--accounts",
            type=int,
            default=len(PLANTED),
            help=f"feed accounts (the first {len(PLANTED)} are the planted ones)",
        )
        p.add_argument("--posts", type=int, default=30, help="posts per account")
        p.add_argument("--seed", type=int, default=2024)
        p.add_argument("--wechat-extra", type=int, default=0, help="ordinary WeChat accounts (a province)")
        p.add_argument("--weibo-extra", type=int, default=0, help="ordinary Weibo accounts (a province)")
        p.add_argument("--portal-extra", type=int, default=0, help="ordinary portal sites (a province)")
    sub.choices["serve"].add_argument("--host", default="127.0.0.1")
    sub.choices["serve"].add_argument("--port", type=int, default=8765)
    sub.choices["targets"].add_argument("--base", default="http://127.0.0.1:8765")
    args = parser.parse_args(argv)
    as_of = parse_as_of(args.as_of) if args.as_of else now().replace(minute=0, second=0, microsecond=0)
    world = World(
        as_of=as_of,
        accounts=args.accounts,
        posts=args.posts,
        seed=args.seed,
        wechat_extra=args.wechat_extra,
        weibo_extra=args.weibo_extra,
        portal_extra=args.portal_extra,
    )
    if args.cmd == "targets":
        sys.stdout.write(targets_yaml(world, args.base.rstrip("/")))
        return 0
    server = build_server(world, args.host, args.port)
    print(
        f"demo world on http://{args.host}:{server.server_address[1]}/ "
        f"(as of {world.as_of.isoformat()}, {args.accounts} accounts x {args.posts} posts)",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
