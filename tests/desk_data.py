"""The desk tests' database: a real crawl of the whole demo world, twice, and what the world planted.

Round 1 is what cron does: `scrapy import-targets` of the world's targets, then `scrapy crawl` feed,
portal, wechat and weibo as subprocesses (detection runs on each spider's close). Before it, one test-only
post carrying `<script>` is published through the world's own add_post, so the crawler really fetches it.
Round 2 changes the world the way a week does: the stale feed account 青山教育 posts again (its finding
resolves) and a newly registered account whose feed is gone is added (a new finding), then the feed is
crawled again — so "what changed since the last run" has real new and resolved rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from demo import feeds, portal, wechat, weibo
from demo.run import SPIDERS
from demo.wechat import DEMO_COOKIE, DEMO_TOKEN
from tests.conftest import start_world
from tests.helpers import run_scrapy

# A post that tries to run script wherever it is shown; it must only ever appear as text.
XSS_TITLE = "<script>window.__pwned=1</script>防汛救灾工作简报"
XSS_BODY = (
    "正文含有脚本 <script>window.__pwned=1</script> 和图片 <img src=x onerror=window.__pwned=1> 的测试文字"
)
RESUMED_SLUG = "qingshan-jiaoyu"  # the planted stale feed account that posts again in round 2
NEW_TARGET: dict[str, Any] = {  # registered in round 2; its feed answers 404
    "platform": "feed",
    "name": "临江应急",
    "org": "临江市应急管理局",
    "region_code": "990100",
    "region_name": "临江市",
    "level": "市级",
    "tags": ["demo", "round2"],
}
MODULES = {"feed": feeds, "portal": portal, "wechat": wechat, "weibo": weibo}


@dataclass
class DeskCrawl:
    db_path: Path
    base: str
    world: Any
    planted: dict[str, list[dict[str, Any]]]  # platform -> the module's planted() after both rounds
    round1_planted: dict[str, list[dict[str, Any]]]
    new_target: str


def crawl_demo_world(tmp: Path) -> DeskCrawl:
    dw, server = start_world(tmp)
    db_path = tmp / "monitor.db"
    try:
        dw.world.add_post("linjiang-fabu", XSS_TITLE, XSS_BODY)
        run_scrapy("import-targets", str(dw.targets_file), db_path=db_path)
        for spider in SPIDERS:
            run_scrapy(
                "crawl",
                spider,
                db_path=db_path,
                MONITOR_WECHAT_TOKEN=DEMO_TOKEN,
                MONITOR_WECHAT_COOKIE=DEMO_COOKIE,
            )
        round1 = {p: m.planted(dw.world, dw.base) for p, m in MODULES.items()}

        dw.world.add_post(RESUMED_SLUG, "恢复更新：本周教育工作动态", "青山区教育局本周工作动态。")
        extra = tmp / "round2-targets.yaml"
        new = {**NEW_TARGET, "feed": f"{dw.base}/feeds/linjiang-yingji.xml"}
        extra.write_text(yaml.safe_dump({"targets": [new]}, allow_unicode=True), encoding="utf-8")
        run_scrapy("import-targets", str(extra), db_path=db_path)
        run_scrapy(
            "crawl",
            "feed",
            db_path=db_path,
            MONITOR_WECHAT_TOKEN=DEMO_TOKEN,
            MONITOR_WECHAT_COOKIE=DEMO_COOKIE,
        )
        planted = {p: m.planted(dw.world, dw.base) for p, m in MODULES.items()}
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
    return DeskCrawl(db_path, dw.base, dw.world, planted, round1, str(NEW_TARGET["name"]))
