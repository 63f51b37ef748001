"""`scrapy import-targets` on hostile registry files: FILE:line N: reason for each, never a traceback;
Excel's GBK and UTF-16 CSVs are simply read."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from crawler.targets import read_targets_file
from tests.helpers import run_scrapy

BAD_ROWS = """\
targets:
  - platform: portal
    name: 坏的地址
    url: "http://[::1/"
  - platform: portal
    name: 数字键
    url: http://a.gov.cn/
    1: x
  - platform: portal
    name: "代理\\ud800字符"
    url: http://b.gov.cn/
  - platform: weibo
    name: 全角
    handle: "１２３４５６７"
    region_code: "９９０１００"
  - platform: portal
    name: "零宽\\u200b空格"
    url: http://c.gov.cn/
  - platform: portal
    name: "\\u202e反向"
    url: http://d.gov.cn/
  - platform: portal
    name: "空\\0字符"
    url: http://e.gov.cn/
  - platform: wechat
    name: 文章列表
    handle: wx1
    options: {mode: urls, article_urls: ["https://mp.weixin.qq.com/s?x=1", "mp.weixin.qq.com/s?x=2"]}
  - platform: portal
    name: 栏目
    url: http://f.gov.cn/
    options: {columns: ["javascript:void(0)"], column_rules: [["r", "name", "(", "通知公告"]]}
"""
ALIAS_BOMB = (
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "targets:\n  - {platform: portal, name: x, url: 'http://a.gov.cn/', options: {x: *f}}\n"
)
CSV = "platform,name,url,region_code,level\nportal,临江市人民政府,http://a.gov.cn/,990100,市级\n"


def test_every_bad_row_is_named_with_its_line(tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_ROWS, encoding="utf-8")
    proc = run_scrapy("import-targets", str(path), db_path=db_path, check=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert "Traceback" not in err
    for line, reason in (
        (2, "url 'http://[::1/' is not an http(s) URL"),
        (5, "field names must be text (got 1)"),
        (9, "name contains a control or invisible character (U+D800)"),
        (12, "a weibo target needs its numeric uid as handle"),
        (12, "region_code '９９０１００' is not a 6-, 9- or 12-digit"),
        (16, "(U+200B)"),
        (19, "(U+202E)"),
        (22, "(U+0000)"),
        (25, "options.article_urls[1] 'mp.weixin.qq.com/s?x=2' is not an http(s) URL"),
        (29, "options.columns[0] 'javascript:void(0)' is not an http(s) URL"),
        (29, "options.column_rules[0]: bad pattern"),
    ):
        assert f"{path}:line {line}: " in err, (line, err)
        assert any(f"{path}:line {line}: " in ln and reason in ln for ln in err.splitlines()), (
            line,
            reason,
            err,
        )


def test_whole_file_problems_have_a_line_too(tmp_path: Path, db_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB, encoding="utf-8")
    big = tmp_path / "big.csv"
    big.write_text(CSV + "portal," + "甲" * 200_000 + ",http://b.gov.cn/,990100,市级\n", encoding="utf-8")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(CSV.encode() + b"portal,\xff\xfe\x80\x81\xfa,http://c.gov.cn/,990100,x\n")
    for path, line, reason in (
        (bomb, 6, "once its aliases are expanded"),
        (big, 3, "a cell longer than the limit"),
        (binary, 3, "not UTF-8, UTF-16 or GB18030 text"),
    ):
        proc = run_scrapy("import-targets", str(path), db_path=db_path, check=False)
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert f"{path}:line {line}: " in proc.stderr, proc.stderr
        assert reason in proc.stderr
    long_name = tmp_path / "long.csv"
    long_name.write_text(CSV.replace("临江市人民政府", "长" * 300), encoding="utf-8")
    assert [str(e) for e in read_targets_file(long_name).errors] == [
        "line 2: name is 300 characters long (at most 200)"
    ]


def test_excel_csvs_in_gbk_and_utf16_are_read(tmp_path: Path, db_path: Path) -> None:
    gbk = tmp_path / "excel-ansi.csv"
    gbk.write_bytes(CSV.encode("gbk"))
    utf16 = tmp_path / "excel-unicode.csv"
    utf16.write_bytes(CSV.replace(",", "\t").replace("a.gov.cn", "b.gov.cn").encode("utf-16"))
    for path in (gbk, utf16):
        proc = run_scrapy("import-targets", str(path), db_path=db_path)
        assert "1 created" in proc.stdout
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT name, url, region_code, level, tags FROM targets ORDER BY id").fetchall()
    assert rows == [
        ("临江市人民政府", "http://a.gov.cn/", "990100", "市级", json.dumps([])),
        ("临江市人民政府", "http://b.gov.cn/", "990100", "市级", json.dumps([])),
    ]
