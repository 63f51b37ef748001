"""The desk's pure parts: labels of every closed set, parameter rules, cell rendering, connection limits."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from markupsafe import Markup

from core.enums import CLOSED_SETS, LEVEL_ALIASES, Level
from core.labels import COLUMN_LABELS, COLUMN_SETS, LABELS, column_label, label
from db import open_db
from db.desk.cells import format_time, link, render_cell, render_json_text, render_value
from db.desk.limits import MAX_VALUE_BYTES, guard_connection, printf_size_ok
from db.desk.params import check_param, check_params
from db.serve import build_metadata

# --- labels -----------------------------------------------------------------------------------------


def test_every_member_of_every_closed_set_has_one_chinese_label() -> None:
    assert set(LABELS) == set(CLOSED_SETS)
    for name, members in CLOSED_SETS.items():
        assert set(LABELS[name]) == {str(m) for m in members}, name
        assert all(LABELS[name].values()), name
        assert len(set(LABELS[name].values())) == len(members), name  # no two codes read the same
    assert label("severity", "veto") == "单项否决"
    assert label("check_outcome", "not_found") == "页面不存在（死链）"
    assert label("account_status", "closed") == "已关停"
    assert label("severity", "unknown-code") == "unknown-code"
    assert all(s in LABELS for sets in COLUMN_SETS.values() for s in sets)


def test_every_stored_column_has_a_chinese_header(tmp_path: Path) -> None:
    db = open_db(tmp_path / "monitor.db")
    names = {
        column.name
        for name in [*db.table_names(), *db.view_names()]
        if "_fts" not in name and not name.startswith("sqlite_")  # SQLite's own (sqlite_stat1)
        for column in db[name].columns
    }
    db.close()
    assert sorted(n for n in names if n not in COLUMN_LABELS) == []


def test_coded_columns_fall_back_to_the_value() -> None:
    assert column_label("status", "closed") == "已关停"  # account status
    assert column_label("status", "aborted") == "已中止"  # run status
    assert column_label("status", "已回复") is None  # a message board's own words stay as they are
    assert column_label("name", "veto") is None


def test_labels_view_is_generated_from_the_labels(tmp_path: Path) -> None:
    db = open_db(tmp_path / "monitor.db")
    rows = list(db.query("SELECT closed_set, value, label FROM labels"))
    db.close()
    assert {(r["closed_set"], r["value"]): r["label"] for r in rows} == {
        (name, value): text for name, values in LABELS.items() for value, text in values.items()
    }


def test_metadata_takes_closed_sets_from_the_labels() -> None:
    meta = build_metadata()
    dashboard = meta["plugins"]["datasette-dashboards"]["desk"]
    assert dashboard["filters"]["level"]["options"] == [lv.value for lv in Level]
    color = dashboard["charts"]["findings_over_time"]["display"]["encoding"]["color"]["scale"]
    assert color["domain"] == list(LABELS["severity"].values())
    assert "$labels" not in json.dumps(meta)
    assert meta["plugins"]["datasette-render-markdown"]["patterns"] == []


# --- parameters -------------------------------------------------------------------------------------


@pytest.mark.parametrize("alias", sorted(LEVEL_ALIASES))
def test_level_aliases_as_the_importer_reads_them(alias: str) -> None:
    assert check_param("level", alias) == (LEVEL_ALIASES[alias].value, None)
    assert check_param("level", alias.upper())[0] == LEVEL_ALIASES[alias].value


@pytest.mark.parametrize(
    ("name", "value", "normalized"),
    [
        ("level", "县级", "县级"),
        ("severity", "单项否决", "veto"),
        ("severity", "VETO", "veto"),
        ("platform", "微信公众号", "wechat"),
        ("state", "未整改", "open"),
        ("update_state", "僵尸账号", "zombie"),
        ("since", " 2026-06-30 ", "2026-06-30"),
        ("month", "2026-05", "2026-05"),
        ("q", " 停止发布信息 ", "停止发布信息"),
        ("region", "临江市", "临江市"),
        ("region", "", ""),
    ],
)
def test_parameters_normalized(name: str, value: str, normalized: str) -> None:
    assert check_param(name, value) == (normalized, None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("level", "prefectural"),
        ("since", "2026-02-30"),
        ("since", "20260630"),
        ("until", "2026-6-30"),
        ("month", "2026-13"),
        ("q", "注销"),
        ("q", "ab"),
        ("run_id", "-1"),
        ("severity", "fatal"),
        ("by", "province"),
    ],
)
def test_parameters_refused_with_a_reason(name: str, value: str) -> None:
    kept, why = check_param(name, value)
    assert kept == value
    assert why


def test_since_after_until_is_refused() -> None:
    _, problems = check_params({"since": "2026-07-01", "until": "2026-06-01"}, ["since", "until"])
    assert [p.param for p in problems] == ["until"]
    values, problems = check_params({"since": "2026-06-01", "until": "2026-06-01"}, ["since", "until"])
    assert problems == []
    assert values == {"since": "2026-06-01", "until": "2026-06-01"}


# --- cells ------------------------------------------------------------------------------------------


def test_times_read_as_china_time() -> None:
    assert format_time("2026-10-22T16:00:00+08:00") == "2026-10-22 16:00"
    assert format_time("2026-10-22T08:00:00Z") == "2026-10-22 16:00"
    assert format_time("2026-10-22") == "2026-10-22"
    assert format_time("第2026-10-22T16:00期") == "第2026-10-22T16:00期"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "http://a b",
        "//evil",
    ],
)
def test_only_http_links(url: str) -> None:
    html = str(link(url))
    assert "<a " not in html
    assert str(render_value(url)).count("<a ") == 0
    assert render_cell(url, "url", None) is None or "<a " not in str(render_cell(url, "url", None))


def test_cells_escape_and_label() -> None:
    assert str(render_cell("veto", "severity", None)) == '<span class="code" title="veto">单项否决</span>'
    assert "是" in str(render_cell(1, "zombie", None))
    assert str(render_cell(1, "zombie", None)).count("否") == 0
    name = render_cell("<b>临江</b>", "name", {"target_id": 3})
    assert name == Markup('<a href="/monitor/targets/3" class="name">&lt;b&gt;临江&lt;/b&gt;</a>')
    finding = str(render_cell(42, "finding_id", {"finding_id": 42}))
    assert 'href="/monitor/findings/42"' in finding
    assert render_cell(42, "target_id", {}, "findings") is None  # a table labels its own foreign keys
    html = str(render_json_text(json.dumps({"url": "javascript:x", "sentence": "<script>x</script>"})))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<blockquote>" in html
    assert 'href="javascript' not in html


# --- connection limits ------------------------------------------------------------------------------


def test_printf_sizes() -> None:
    assert printf_size_ok("%.*c", (900_000_000, "x")) is False
    assert printf_size_ok("%900000000d", (1,)) is False
    assert printf_size_ok("%*s", (-900_000_000, "x")) is False
    assert printf_size_ok("%d%%%.*c", (1, 5, "x")) is True
    assert printf_size_ok("%s", ("x" * 100,)) is True
    assert printf_size_ok(f"%.{MAX_VALUE_BYTES}c", ("x",)) is True


# Datasette switches SQLite callback tracebacks on process-wide: a refused call is reported as well as raised.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_guarded_connection(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    conn = sqlite3.connect(path)
    guard_connection(conn)
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only"):
        conn.execute("INSERT INTO t VALUES (1)")
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("select printf('%.*c', 900000000, 'x')").fetchone()
    assert time.monotonic() - started < 1
    with pytest.raises(sqlite3.DataError):
        conn.execute("select zeroblob(?)", [MAX_VALUE_BYTES + 1]).fetchone()
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("select fts3_tokenizer('simple')").fetchone()
    assert conn.execute("select printf('%d-%s', 7, 'x'), format('%03d', 5)").fetchone() == ("7-x", "005")
    assert conn.execute("select printf(NULL)").fetchone() == (None,)
