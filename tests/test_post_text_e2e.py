"""A post's text is read as HTML once, by its spider: markup its source spelled out as text (an
escaped ``&lt;script&gt;`` in a feed entry or a Weibo post) is stored as the reader saw it, not cut
out by the normalize stage reading the spider's plain text as HTML again. Saved answers from
tests/fixtures with such text spliced in, on a local server, crawled with ``scrapy crawl``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.helpers import answering, fixture_path, run_scrapy, write_targets

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
