"""The targets registry: validation with line numbers, all-or-nothing import, idempotent re-import."""

from __future__ import annotations

from pathlib import Path

from crawler.targets import read_targets_file
from db import open_db
from tests.helpers import ROOT, run_scrapy

GOOD_YAML = """\
targets:
  - platform: portal
    name: 临江市人民政府
    url: http://127.0.0.1:1/portal/
    region_code: "990100"
    level: 市级
    tags: [门户]
  - platform: weibo
    name: 临江发布
    handle: "1234567890"
    level: city
"""

BAD_YAML = """\
targets:
  - platform: portal
    name: 好的一行
    url: https://www.example.gov.cn/
  - platform: myspace
    name: 未知平台
    url: https://example.org/
  - platform: weibo
    name: 临江发布
    handle: linjiang
    level: 副省级
  - platform: feed
    name: 坏链接
    feed: not-a-url
    region_code: "12345"
"""


def test_bad_rows_are_named_and_nothing_changes(tmp_path: Path, db_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_YAML, encoding="utf-8")
    run_scrapy("import-targets", str(good), db_path=db_path)
    db = open_db(db_path)
    before = list(db.query("SELECT * FROM targets ORDER BY id"))
    db.close()

    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_YAML, encoding="utf-8")
    proc = run_scrapy("import-targets", str(bad), db_path=db_path, check=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert "nothing was imported" in err
    assert f"{bad}:line 5: unknown platform 'myspace'" in err
    assert f"{bad}:line 8: a weibo target needs its numeric uid as handle (got 'linjiang')" in err
    assert f"{bad}:line 8: unknown level '副省级'" in err
    assert f"{bad}:line 12: feed 'not-a-url' is not an http(s) URL" in err
    assert f"{bad}:line 12: region_code '12345' is not a 6-, 9- or 12-digit" in err
    assert "line 2:" not in err  # the good row is not blamed

    db = open_db(db_path)
    assert list(db.query("SELECT * FROM targets ORDER BY id")) == before  # unchanged, good row too


def test_reimport_updates_never_duplicates(tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(GOOD_YAML, encoding="utf-8")
    first = run_scrapy("import-targets", str(path), db_path=db_path)
    assert "2 created, 0 updated" in first.stdout
    path.write_text(GOOD_YAML.replace("临江发布", "临江发布（新）"), encoding="utf-8")
    second = run_scrapy("import-targets", str(path), db_path=db_path)
    assert "0 created, 2 updated" in second.stdout
    db = open_db(db_path)
    rows = list(db.query("SELECT platform, name, level, tags FROM targets ORDER BY id"))
    assert rows == [
        {"platform": "portal", "name": "临江市人民政府", "level": "市级", "tags": '["门户"]'},
        {"platform": "weibo", "name": "临江发布（新）", "level": "市级", "tags": "[]"},
    ]


def test_csv_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "platform,name,url,feed,level,region_code,active\n"
        "portal,甲,https://a.gov.cn/,,县级,990121,true\n"
        "\n"
        "portal,,https://b.gov.cn/,,县级,990121,maybe\n"
        "portal,甲,https://a.gov.cn/,,县级,990121,1\n",
        encoding="utf-8",
    )
    result = read_targets_file(path)
    assert result.rows == []
    assert [str(e) for e in result.errors] == [
        "line 4: name is missing",
        "line 4: active must be true or false (got 'maybe')",
        "line 5: duplicate of line 2 (portal https://a.gov.cn/)",
    ]


def test_unknown_field_and_unreadable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "- platform: portal\n  name: 甲\n  url: https://a.gov.cn/\n  regoin: x\n", encoding="utf-8"
    )
    assert "unknown field(s) regoin" in str(read_targets_file(path).errors[0])
    path.write_text("targets: [\n  - platform: portal\n", encoding="utf-8")
    errors = read_targets_file(path).errors
    assert len(errors) == 1
    assert "unreadable file" in errors[0].reason


def test_shipped_files_are_valid() -> None:
    for name in ("demo.yaml", "example.yaml", "example.csv"):
        result = read_targets_file(ROOT / "targets" / name)
        assert result.errors == [], name
        assert result.rows, name
