"""A large synthetic database (default 1,000,000 posts, 100,000 findings) for detection and query benchmarks.

`python -m bench.bigdb data/big/monitor.db` builds it (a few minutes; reused when it exists).
Shapes follow the demo world: most accounts active, some stale, some zombie; ages relative to AS_OF.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import datetime, timedelta
from pathlib import Path

from core.clock import iso, parse_iso
from db import open_db
from demo import text
from demo.world import REGIONS

AS_OF = "2026-06-30T12:00:00+08:00"
RULES = (
    ("account.no_update_14d", "监测时间点前2周内无更新", "veto"),
    ("account.zombie", "超过3个月未更新", "veto"),
    ("account.closure_notice", "发布关停公告", "info"),
    ("account.repost_heavy", "转载比例过高", "info"),
    ("account.poster_only", "海报式发布", "info"),
    ("portal.dead_link_homepage", "错链死链", "deduction"),
    ("portal.column_stale", "动态要闻类栏目超过2周未更新", "info"),
    ("portal.blank_column", "空白栏目", "info"),
)


def build_big_db(
    path: Path,
    *,
    accounts: int = 10_000,
    posts_per_account: int = 100,
    findings: int = 100_000,
    seed: int = 7,
    as_of: str = AS_OF,
) -> Path:
    """Fill ``path`` with synthetic rows through the real schema; return the path."""
    rng = random.Random(seed)
    now = parse_iso(as_of)
    db = open_db(path)
    conn = db.conn
    created = iso(now)
    with conn:
        conn.executemany(
            "INSERT INTO targets (id, platform, key, name, org, region_code, region_name, level, "
            "tags, active, options, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,1,'{}',?,?)",
            (
                (
                    i,
                    rng.choice(("wechat", "weibo", "feed")),
                    f"acct-{i}",
                    f"账号{i}",
                    f"单位{i % 500}",
                    *REGIONS[i % len(REGIONS)][:3],
                    '["bench"]',
                    created,
                    created,
                )
                for i in range(1, accounts + 1)
            ),
        )
    batch: list[tuple[object, ...]] = []
    post_sql = (
        "INSERT INTO posts (target_id, platform, post_id, url, title, text, published_at, kind, "
        "is_original, is_repost, text_length, image_count, video_count, first_seen_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    for t in range(1, accounts + 1):
        kind = rng.random()
        newest = 0.3 if kind < 0.75 else (20 if kind < 0.9 else 200)  # active / stale / zombie
        step = rng.uniform(0.5, 3.0)
        for n in range(posts_per_account):
            title, body = text.ordinary_post(rng, org=f"单位{t % 500}", region="示范")
            published: datetime = now - timedelta(days=newest + n * step, minutes=rng.randrange(600))
            orig = rng.random() < 0.7
            batch.append(
                (
                    t,
                    "wechat",
                    f"{t}-{n}",
                    f"http://bench.invalid/{t}/{n}",
                    title,
                    body,
                    iso(published),
                    "article",
                    int(orig),
                    int(not orig),
                    len(body),
                    rng.randrange(3),
                    0,
                    created,
                    created,
                )
            )
        if len(batch) >= 50_000:
            with conn:
                conn.executemany(post_sql, batch)
            batch.clear()
    if batch:
        with conn:
            conn.executemany(post_sql, batch)
    with conn:
        conn.executemany(
            "INSERT OR IGNORE INTO findings (target_id, rule, subject, label, severity, indicator, "
            "evidence, first_seen_at, last_seen_at, resolved_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    rng.randrange(1, accounts + 1),
                    rule,
                    f"s{i}",
                    label,
                    sev,
                    "国办秘函〔2019〕19号",
                    json.dumps({"n": i}),
                    iso(now - timedelta(days=rng.randrange(1, 300))),
                    created,
                    iso(now - timedelta(days=rng.randrange(0, 30))) if rng.random() < 0.3 else None,
                )
                for i, (rule, label, sev) in ((i, rng.choice(RULES)) for i in range(findings))
            ),
        )
    db.execute("ANALYZE")
    db.close()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bigdb", description=__doc__)
    parser.add_argument("path")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=100, help="posts per account")
    parser.add_argument("--findings", type=int, default=100_000)
    args = parser.parse_args(argv)
    path = Path(args.path)
    if path.exists():
        print(f"{path} exists; delete it to rebuild")
        return 0
    started = time.monotonic()
    build_big_db(path, accounts=args.accounts, posts_per_account=args.posts, findings=args.findings)
    print(f"built {path} in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
