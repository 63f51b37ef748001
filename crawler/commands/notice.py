"""`scrapy notice`: judge texts with the closure-notice detector the pipeline uses, one JSON line each."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

from scrapy.commands import ScrapyCommand, ScrapyHelpFormatter
from scrapy.exceptions import UsageError

from core.clock import now, parse_as_of
from core.dates import parse_timestamp
from detection.rules.notice import classify_notice, describe_notice


class BadLine(ValueError):
    """An input line that is not a notice record."""


def read_record(line: str) -> tuple[str | None, str, datetime | date | None]:
    """(title, text, posted_at) from one input line: a JSON object with ``text`` and optional
    ``title`` and ``posted_at`` (ISO date or datetime, unix seconds, or a Chinese date)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(record, dict):
        raise BadLine("not a JSON object")
    text, title, posted = record.get("text"), record.get("title"), record.get("posted_at")
    if not isinstance(text, str):
        raise BadLine('"text" is missing or not a string')
    if title is not None and not isinstance(title, str):
        raise BadLine('"title" is not a string')
    when = None
    if posted not in (None, ""):
        when = parse_timestamp(posted)
        if when is None:
            raise BadLine(f'"posted_at" is not a date: {posted!r}')
    return title, text, when


def judge_line(line: str, *, as_of: date) -> dict[str, Any]:
    """The answer for one input line (raises BadLine); a text without ``posted_at`` is dated today."""
    title, text, posted = read_record(line)
    notice = classify_notice(title, text, posted or now())
    return describe_notice(notice, as_of=as_of)


class _KeepLines(ScrapyHelpFormatter):
    """Scrapy's help layout with the description's own line breaks, so the example stays runnable."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "".join(indent + line for line in text.splitlines(keepends=True))


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, str | None]]:
    for number, raw in enumerate(stream, start=1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield number, None


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options] [FILE]"

    def short_desc(self) -> str:
        return (
            "Tell which texts are closure notices (停更/关停/注销/并入), with date, subjects and successors"
        )

    def long_desc(self) -> str:
        return (
            "Reads one JSON object per line from FILE (or standard input, also as '-'): \"text\", and\n"
            'optionally "title" and "posted_at" (the post\'s date: it decides the year of 将于7月1日起 and\n'
            "已于3月1日起; absent, today in China time). Prints one JSON object per line: line (the input\n"
            "line number), closure, effective_date (ISO date, or null when the text states none),\n"
            "migration_targets [{name, url, kind}], subjects, action, status (closed / closing / migrated,\n"
            "as of --as-of, default today). A line that cannot be read is reported on standard error with\n"
            "its number; the other lines are still judged and the exit status is 1.\n\n"
            "Examples:\n"
            '  echo \'{"text": "本公众号自2026年7月1日起停止更新，请关注“临江发布”。", '
            '"posted_at": "2026-06-20"}\' | scrapy notice --as-of 2026-06-30\n'
            "  scrapy notice posts.jsonl > verdicts.jsonl"
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.formatter_class = _KeepLines
        parser.add_argument(
            "--as-of", dest="as_of", help="date the status is given for, ISO (default: today, China time)"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) > 1:
            raise UsageError("notice reads one FILE (or standard input)")
        try:
            as_of = parse_as_of(opts.as_of).date()
        except ValueError as exc:
            raise UsageError(f"--as-of: {exc}") from exc
        path = args[0] if args else "-"
        if path == "-":
            bad = self._judge(sys.stdin.buffer, as_of)
        else:
            try:
                with Path(path).open("rb") as stream:
                    bad = self._judge(stream, as_of)
            except OSError as exc:
                raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
        if bad:
            sys.stderr.write(f"notice: {bad} line(s) could not be read\n")
            self.exitcode = 1

    def _judge(self, stream: IO[bytes], as_of: date) -> int:
        bad = 0
        out = sys.stdout.buffer
        for number, line in _lines(stream):
            if line is not None and not line.strip():
                continue
            try:
                if line is None:
                    raise BadLine("not UTF-8")
                answer = {"line": number, **judge_line(line, as_of=as_of)}
            except BadLine as exc:
                bad += 1
                sys.stderr.write(f"line {number}: {exc}\n")
                continue
            out.write((json.dumps(answer, ensure_ascii=False) + "\n").encode("utf-8"))
            out.flush()
        return bad
