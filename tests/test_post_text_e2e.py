"""A post's text is read as HTML once, by its spider: markup its source spelled out as text (an
escaped ``&lt;script&gt;`` in a feed entry or a Weibo post) is stored as the reader saw it, not cut
out by the normalize stage reading the spider's plain text as HTML again. Saved answers from
tests/fixtures with such text spliced in, on a local server, crawled with ``scrapy crawl``."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from core.clock import CHINA_TZ
from pipelines.normalize import normalize_item
from spiders.wechat.article import Article, article_to_post, parse_article_page
from spiders.weibo import mblog_to_post, parse_timeline
from tests.helpers import SHARED_REAL, answering, fixture_path, run_scrapy, write_targets

# What a reader sees: the notice names the tags it warns about.
SEEN = "网站安全提示：请勿在留言中粘贴<script>代码</script>或<iframe>链接。"
AS_HTML = "<p>网站安全提示：请勿在留言中粘贴&lt;script&gt;代码&lt;/script&gt;或&lt;iframe&gt;链接。</p>"

FEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>标记文字的源</title><link>http://127.0.0.1/</link>
<item><title>安全提示</title><link>http://127.0.0.1/a/1</link><guid>a-1</guid>
<pubDate>Mon, 29 Jun 2026 10:00:00 +0800</pubDate>
<content:encoded><![CDATA[{AS_HTML}]]></content:encoded></item>
</channel></rss>""".encode()

PROFILE = json.loads(fixture_path("weibo", "profile.json").read_text(encoding="utf-8"))
TIMELINE = json.loads(fixture_path("weibo", "timeline_pinned.json").read_text(encoding="utf-8"))


def timeline() -> bytes:
    data = json.loads(json.dumps(TIMELINE))
    mblogs = [c["mblog"] for c in data["data"]["cards"] if c.get("card_type") == 9]
    data["data"]["cardlistInfo"].update(since_id=None, total=len(mblogs))  # one page
    mblogs[1]["text"] = AS_HTML
    mblogs[1]["isLongText"] = False
    return json.dumps(data, ensure_ascii=False).encode()


def answer(path: str) -> tuple[bytes, str]:
    if path.startswith("/feed.xml"):
        return FEED, "application/rss+xml; charset=utf-8"
    if "containerid=100505" in path:
        return json.dumps(PROFILE, ensure_ascii=False).encode(), "application/json"
    return timeline(), "application/json; charset=utf-8"


def test_markup_a_source_spells_out_as_text_is_kept(tmp_path: Path, db_path: Path) -> None:
    with answering(answer) as base:
        rows = [
            {"platform": "feed", "name": "标记文字的源", "feed": f"{base}/feed.xml"},
            {
                "platform": "weibo",
                "name": "标记文字的微博",
                "handle": "5800000001",
                "options": {"weibo_base": base},
            },
        ]
        run_scrapy("import-targets", str(write_targets(tmp_path, rows)), db_path=db_path)
        for spider in ("feed", "weibo"):
            run_scrapy("crawl", spider, db_path=db_path)
    with sqlite3.connect(db_path) as conn:
        texts = dict(
            conn.execute(
                "SELECT t.name, p.text FROM posts p JOIN targets t ON t.id = p.target_id "
                "WHERE p.text LIKE '网站安全提示%'"
            ).fetchall()
        )
        found = conn.execute(
            "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?", ['"<script>"']
        ).fetchone()[0]
    assert texts == {"标记文字的源": SEEN, "标记文字的微博": SEEN}
    assert found == 2  # and searchable as the reader saw it


def test_normalize_keeps_the_text_spiders_make_of_real_answers() -> None:
    """On the real answers under ../shared (a Weibo timeline, a WeChat article): the stored text is what
    the spider read, whitespace folded, and nothing the second HTML reading used to change."""
    timeline_path = SHARED_REAL / "weibo_getIndex_107603_list_pinned.json"
    article_path = SHARED_REAL / "wechat_article_gongchandangyuan_2018.html"
    missing = [p for p in (timeline_path, article_path) if not p.exists()]
    if missing:
        pytest.skip(f"real answers not present: {missing}")
    now = datetime(2026, 6, 30, tzinfo=CHINA_TZ)
    timeline = parse_timeline(json.loads(timeline_path.read_text(encoding="utf-8")))
    posts = [mblog_to_post(m, target_id=1, now=now, base="https://m.weibo.cn") for m in timeline.mblogs]
    article = parse_article_page(article_path.read_text(encoding="utf-8"), "https://mp.weixin.qq.com/s/x")
    assert isinstance(article, Article)
    posts.append(article_to_post(article, target_id=2))
    made = [p.text for p in posts]
    assert len(made) == 11
    assert all(made)
    assert [normalize_item(p).text for p in posts] == made
