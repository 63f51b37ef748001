"""Serving the desk: any file name, the live file read-only, limits that hold, safe links.

One Datasette for the module, over a copy of the session's crawl named ``mine.db`` (with its evidence
folder). The tests write to that copy from this process while Datasette serves it, as a crawl does.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from db.evidence import evidence_dir
from tests.conftest import Crawl, copy_db
from tests.test_desk import get, start_datasette


@dataclass
class Served:
    base: str
    db_path: Path


@pytest.fixture(scope="module")
def served(world_crawl: Crawl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    db_path = copy_db(world_crawl.db_path, tmp_path_factory.mktemp("mine") / "mine.db")
    proc, base = start_datasette(db_path)
    try:
        yield Served(base, db_path)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def rows(served: Served, sql: str, **params: str) -> list[dict[str, Any]]:
    return json.loads(get(served.base, "/monitor.json", {"sql": sql, "_shape": "array", **params}))  # type: ignore[no-any-return]


def error_of(served: Served, sql: str) -> tuple[int, str, float]:
    started = time.monotonic()
    with pytest.raises(urllib.error.HTTPError) as err:
        get(served.base, "/monitor.json", {"sql": sql, "_shape": "array"})
    body = err.value.read().decode()
    return err.value.code, body, time.monotonic() - started


# --- any database name ------------------------------------------------------------------------------


def test_any_file_name_is_served_as_monitor(served: Served) -> None:
    databases = json.loads(get(served.base, "/-/databases.json"))
    assert [d["name"] for d in databases] == ["monitor"]
    assert databases[0]["path"].endswith("mine.db")
    home = get(served.base, "/").decode()
    dashboard = get(served.base, "/-/dashboards/desk").decode()
    assert "Database does not exist" not in dashboard
    links = set(re.findall(r'href="(/[^"#]*)"', home + get(served.base, "/monitor").decode()))
    meta = json.loads(get(served.base, "/-/metadata.json"))
    queries = meta["databases"]["monitor"]["queries"]
    links |= {f"/monitor/{name}" for name in queries} | {f"/monitor/{name}.json" for name in queries}
    links |= {f"/monitor/{name}.csv" for name in queries if name != "findings_feed"}
    links |= {"/monitor/findings/1", "/monitor/targets/1", "/monitor/findings_feed.atom"}
    assert {f"/monitor/{name}" for name in queries} <= links
    for link in sorted(links):
        assert get(served.base, link), link  # 200, or urlopen raises
    for slug, chart in meta["plugins"]["datasette-dashboards"]["desk"]["charts"].items():
        sql = re.sub(r"\[\[(.*?)\]\]", "", chart["query"])
        assert isinstance(rows(served, sql), list), slug
        if "drilldown" in chart:
            assert get(served.base, chart["drilldown"]), slug


# --- the live file ----------------------------------------------------------------------------------


def test_rows_written_while_served_show_on_the_next_request(served: Served) -> None:
    count = "SELECT count(*) AS n FROM posts"
    before = rows(served, count)[0]["n"]
    writer = sqlite3.connect(served.db_path, timeout=10)  # another process than Datasette's, as a crawl
    try:
        target = writer.execute(
            "INSERT INTO targets (platform, key, name, active, tags, options) "
            "VALUES ('feed', 'live-test', '实时写入测试账号', 1, '[]', '{}')"
        ).lastrowid
        writer.commit()
        for batch in range(3):
            writer.executemany(
                "INSERT INTO posts (target_id, platform, post_id, title, published_at, is_pinned) "
                "VALUES (?, 'feed', ?, ?, '2026-06-29T10:00:00+08:00', 0)",
                [(target, f"live-{batch}-{i}", f"实时写入第{batch}批第{i}条") for i in range(20)],
            )
            # uncommitted rows are not shown: the desk reads what was committed
            assert rows(served, count)[0]["n"] == before + 20 * batch
            writer.commit()
            assert rows(served, count)[0]["n"] == before + 20 * (batch + 1)
        page = get(served.base, f"/monitor/targets/{target}").decode()
        assert "实时写入测试账号" in page
        assert rows(served, "SELECT name FROM targets WHERE key = 'live-test'") == [
            {"name": "实时写入测试账号"}
        ]
    finally:
        writer.close()


def test_the_desk_cannot_write(served: Served) -> None:
    for sql in ("UPDATE targets SET name = 'x'", "DELETE FROM findings", "PRAGMA query_only = 0"):
        code, _, _ = error_of(served, sql)
        assert code == 400, sql
    # below Datasette's SQL check, the connection itself refuses writes (tests/test_desk_units.py)


# --- limits -----------------------------------------------------------------------------------------


def test_value_length_limit_holds(served: Served) -> None:
    huge = "select length(printf('%.*c', 900000000, 'x')) AS n"
    with ThreadPoolExecutor(max_workers=3) as pool:  # three at once took 24 s each and 2.3 GB
        results = list(pool.map(lambda _: error_of(served, huge), range(3)))
    for code, body, seconds in results:
        assert code == 400
        assert "900000000" not in body.split('"rows"', 1)[-1].split("]", 1)[0]
        assert seconds < 2, seconds
    code, body, seconds = error_of(served, "select length(zeroblob(900000000)) AS n")
    assert code == 400
    assert "too big" in body
    assert seconds < 2
    code, _, _ = error_of(served, "select length(replace(hex(zeroblob(6000000)), '0', 'xx')) AS n")
    assert code == 400  # 24 MB built from a small blob is refused too
    assert rows(served, "select printf('%05.1f|%s|%,d', 3.14159, '正文', 1234567) AS s") == [
        {"s": "003.1|正文|1,234,567"}
    ]
    assert rows(served, "select length(printf('%.*c', 1000, 'x')) AS n") == [{"n": 1000}]


def test_introspection_functions_are_refused(served: Served) -> None:
    for sql in (
        "select hex(fts3_tokenizer('simple')) AS p",
        "select fts3_tokenizer('simple', x'00') AS p",
        "select sqlite_compileoption_get(0) AS p",
        "select load_extension('x') AS p",
    ):
        code, body, _ = error_of(served, sql)
        assert code == 400, sql
        assert '"rows": []' in body
    # full-text search (FTS5, trigram) is unaffected
    assert (
        rows(served, "select count(*) AS n from posts_fts where posts_fts match '\"停止发布信息\"'")[0]["n"]
        > 0
    )


# --- scraped links and text -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(served: Served) -> dict[str, int]:
    """A target, post and finding whose links are javascript: and data: and whose text carries markup."""
    con = sqlite3.connect(served.db_path, timeout=10)
    try:
        target = con.execute(
            "INSERT INTO targets (platform, key, name, url, org, active, tags, options) "
            "VALUES ('feed', 'hostile', '恶意链接测试', ?, '测试单位', 1, '[]', '{}')",
            ["javascript:alert(document.domain)"],
        ).lastrowid
        post = con.execute(
            "INSERT INTO posts (target_id, platform, post_id, url, title, text, published_at, is_pinned) "
            "VALUES (?, 'feed', 'hostile-1', ?, ?, ?, '2026-06-29T10:00:00+08:00', 0)",
            [
                target,
                "javascript:alert(1)",
                "恶意链接测试标题<img src=x onerror=alert(1)>",
                '正文 <a href="javascript:alert(2)">点我</a>',
            ],
        ).lastrowid
        evidence = json.dumps(
            {
                "url": "javascript:alert(3)",
                "notice_url": "data:text/html,<script>alert(4)</script>",
                "title": "<script>window.__pwned=1</script>",
            },
            ensure_ascii=False,
        )
        finding = con.execute(
            "INSERT INTO findings (target_id, rule, subject, label, severity, indicator, evidence, "
            "first_seen_at, last_seen_at) "
            "VALUES (?, 'account.idle_not_deregistered', ?, ?, 'deduction', ?, ?, "
            "'2026-06-30T12:00:00+08:00', '2026-06-30T12:00:00+08:00')",
            [target, "javascript:alert(5)", "闲置账号未及时注销", "政务新媒体·关停注销", evidence],
        ).lastrowid
        con.commit()
    finally:
        con.close()
    return {"target": int(target or 0), "post": int(post or 0), "finding": int(finding or 0)}


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_scraped_links_never_become_links(served: Served, hostile: dict[str, int]) -> None:
    ids = hostile
    pages = {
        "finding card": get(served.base, f"/monitor/findings/{ids['finding']}").decode(),
        "target card": get(served.base, f"/monitor/targets/{ids['target']}").decode(),
        "posts table": get(served.base, "/monitor/posts", {"target_id": str(ids["target"])}).decode(),
        "post row": get(served.base, f"/monitor/posts/{ids['post']}").decode(),
        "findings list": get(served.base, "/monitor/findings_list", {"target": str(ids["target"])}).decode(),
        "search": get(served.base, "/monitor/search_posts", {"q": "恶意链接测试"}).decode(),
        "atom": get(served.base, "/monitor/findings_feed.atom").decode(),
    }
    for name, html in pages.items():
        bad = [h for h in hrefs(html) if not h.startswith(("http://", "https://", "/", "?", "#"))]
        assert bad == [], name
        assert "<script>window.__pwned" not in html, name
        assert "<img src=x" not in html, name
    assert "javascript:alert(3)" in pages["finding card"]  # shown as text, where it can be read
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in pages["finding card"]
    atom_links = re.findall(r'<link href="([^"]+)"', pages["atom"])
    assert all(u.startswith(("http://", "https://")) for u in atom_links)


def test_no_markdown_rendering_of_scraped_text(served: Served, hostile: dict[str, int]) -> None:
    sql = "select title as title_markdown, text as body_markdown from posts where title like '恶意链接测试%'"
    html = get(served.base, "/monitor", {"sql": sql}).decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<a href="javascript' not in html
    plugins = {p["name"] for p in json.loads(get(served.base, "/-/plugins.json"))}
    assert "datasette-render-markdown" in plugins  # installed with datasette-dashboards, and switched off


# --- evidence files ---------------------------------------------------------------------------------


def test_evidence_files_are_served_read_only_and_sandboxed(served: Served) -> None:
    con = sqlite3.connect(f"file:{served.db_path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    html, png = (
        dict(
            con.execute(f"SELECT * FROM evidence WHERE kind = '{k}' AND path IS NOT NULL LIMIT 1").fetchone()
        )
        for k in ("html", "png")
    )
    con.close()
    folder = evidence_dir(served.db_path)
    url = f"{served.base}/-/evidence/{html['sha256']}.html"
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == (folder / html["path"]).read_bytes()
        assert resp.headers["Content-Security-Policy"].startswith("sandbox")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    with urllib.request.urlopen(url + "?source=1", timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
    with urllib.request.urlopen(f"{served.base}/-/evidence/{png['sha256']}.png", timeout=10) as resp:
        assert resp.headers["Content-Type"] == "image/png"
        assert resp.read() == (folder / png["path"]).read_bytes()
    for path in (
        "/-/evidence/" + "0" * 64 + ".html",
        f"/-/evidence/{html['sha256']}.png",
        "/-/evidence/../mine.db",
    ):
        with pytest.raises(urllib.error.HTTPError) as err:
            get(served.base, urllib.parse.quote(path))
        assert err.value.code == 404, path
