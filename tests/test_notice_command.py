"""`scrapy notice` through its real entry point: JSON lines in (standard input or a file), JSON lines out."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_scrapy

LINES = [
    {
        "title": "关于本公众号停止更新的公告",
        "text": "本公众号自2026年7月1日起停止更新，请关注“临江发布”微信公众号和临江市人民政府门户网站"
        "（http://www.linjiang.gov.cn/）。",
        "posted_at": "2026-06-20",
    },
    {"text": "个体工商户申请注销营业执照的，可通过政务服务网在线办理。", "posted_at": "2026-06-20"},
    {"text": "此帳號已自主註銷，內容無法查看。"},
    {"text": "“河口统计”微信公众号已于3月2日起停止发布信息。", "posted_at": "2026-05-10T09:30:00+08:00"},
]


def _answers(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_notice_reads_standard_input(tmp_path: Path) -> None:
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in LINES) + "\n"
    proc = run_scrapy("notice", "--as-of", "2026-06-30", db_path=tmp_path / "unused.db", stdin=stdin)
    first, second, third, fourth = _answers(proc.stdout)
    assert first == {
        "line": 1,
        "closure": True,
        "effective_date": "2026-07-01",
        "migration_targets": [
            {"name": "临江发布", "url": None, "kind": "account"},
            {"name": "临江市人民政府门户网站", "url": "http://www.linjiang.gov.cn/", "kind": "portal"},
        ],
        "subjects": ["本公众号"],
        "action": "停止更新",
        "status": "closing",
    }
    assert second == {
        "line": 2,
        "closure": False,
        "effective_date": None,
        "migration_targets": [],
        "subjects": [],
        "action": None,
        "status": None,
    }
    assert (third["closure"], third["status"], third["effective_date"]) == (True, "closed", None)
    # 已于3月2日起 is in the past: March of the post's year, not of the next one
    assert (fourth["effective_date"], fourth["subjects"], fourth["status"]) == (
        "2026-03-02",
        ["河口统计"],
        "closed",
    )


def test_notice_reads_a_file_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    good = json.dumps(LINES[0], ensure_ascii=False)
    path.write_bytes(
        "\n".join(
            [
                good,
                "{not json",
                "",
                '{"title": "x"}',
                '{"text": "本号即日起停止更新。", "posted_at": "someday"}',
                json.dumps(LINES[1], ensure_ascii=False),
            ]
        ).encode("utf-8")
        + b"\n\xff\xfe\n"
    )
    proc = run_scrapy("notice", str(path), "--as-of", "2026-06-30", db_path=tmp_path / "u.db", check=False)
    assert proc.returncode == 1
    assert [(a["line"], a["closure"]) for a in _answers(proc.stdout)] == [(1, True), (6, False)]
    errors = proc.stderr.splitlines()
    assert [e.split(":")[0] for e in errors if e.startswith("line ")] == [
        "line 2",
        "line 4",
        "line 5",
        "line 7",
    ]
    assert any("posted_at" in e for e in errors)
    assert "4 line(s) could not be read" in proc.stderr


def test_notice_without_posted_at_is_dated_today(tmp_path: Path) -> None:
    proc = run_scrapy(
        "notice", db_path=tmp_path / "u.db", stdin='{"text": "本号即日起停止更新，感谢陪伴。"}\n'
    )
    (answer,) = _answers(proc.stdout)
    assert answer["closure"] is True
    assert answer["effective_date"] is not None  # 即日起: the day it is read (China time)
    assert answer["status"] == "closed"


def test_notice_help_has_a_runnable_example(tmp_path: Path) -> None:
    proc = run_scrapy("notice", "-h", db_path=tmp_path / "u.db")
    example = next(line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("echo "))
    text = example.split("echo ", 1)[1].split(" | ", 1)[0].strip("'")
    ran = run_scrapy("notice", "--as-of", "2026-06-30", db_path=tmp_path / "u.db", stdin=text + "\n")
    (answer,) = _answers(ran.stdout)
    assert answer["closure"] is True
    assert answer["migration_targets"] == [{"name": "临江发布", "url": None, "kind": "account"}]


def test_notice_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_scrapy("notice", str(tmp_path / "nope.jsonl"), db_path=tmp_path / "u.db", check=False)
    assert proc.returncode == 2
    assert "cannot read" in proc.stderr
