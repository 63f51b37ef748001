"""Read and validate a targets registry (CSV or YAML): every bad row is named by line and reason.

Whatever the file holds, the answer is rows or ``FILE:line N: reason`` lines, never a traceback: the
bytes are read as UTF-8, UTF-16 (Excel's "Unicode text") or GB18030 (Excel's CSV on Chinese Windows);
YAML aliases are counted before they are expanded; every field has a length cap, names refuse control
and invisible characters, codes and ids take ASCII digits only, and ``options`` are checked per platform
(crawler/target_options.py).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.enums import LEVEL_ALIASES, Level, Platform
from crawler.target_options import MAX_URL, check_options, is_http_url

FIELDS = (
    "platform",
    "name",
    "handle",
    "url",
    "feed",
    "org",
    "region_code",
    "region_name",
    "level",
    "tags",
    "active",
    "profile",
    "render",
    "options",
)
# ASCII digits only: \d would take full-width ０-９ and other scripts' digits.
REGION_CODE = re.compile(r"^[0-9]{6}([0-9]{3}([0-9]{3})?)?$")
WEIBO_UID = re.compile(r"[0-9]{5,12}")
LEVELS = {**LEVEL_ALIASES, **{lv.value: lv for lv in Level}}
TRUE = {"1", "true", "yes", "y", "on", "是"}
FALSE = {"0", "false", "no", "n", "off", "否"}
# Platforms read through a feed bridge (RSSHub, WeRSS...) when the row gives a feed URL.
FEED_PLATFORMS = {
    Platform.FEED,
    Platform.DOUYIN,
    Platform.TOUTIAO,
    Platform.BILIBILI,
    Platform.CHANNELS,
}
# --- limits: a registry is hundreds of rows of short text ------------------------------------------
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_ROWS = 50_000
MAX_LENGTH = {"name": 200, "org": 200, "region_name": 100, "handle": 200, "url": MAX_URL, "feed": MAX_URL}
MAX_SHORT = 40  # platform, level, region_code, active, render, profile
MAX_TAGS, MAX_TAG = 50, 50
MAX_CELL = 128 * 1024  # a CSV cell (the options column holds up to 64 KB of JSON)
YAML_MAX_VALUES = 200_000  # values after alias expansion: a 500-byte alias bomb names billions
YAML_MAX_DEPTH = 40
TEXT_FIELDS = ("name", "org", "region_name", "handle", "profile")
# Control, format (zero-width, bidi overrides, BOM), separator, surrogate, private and unassigned code
# points: invisible or misleading in a name, and a lone surrogate cannot even be stored.
BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@dataclass
class TargetError:
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line is not None else self.reason


@dataclass
class TargetsFile:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[TargetError] = field(default_factory=list)


class TargetsFileError(ValueError):
    """The file as a whole cannot be read: where (1-based line, None for the file) and why."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


def bad_character(value: str) -> str | None:
    """The first control or invisible character in ``value``, as U+XXXX (None: clean)."""
    for ch in value:
        if unicodedata.category(ch) in BAD_CATEGORIES:
            return f"U+{ord(ch):04X}"
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | dt.date)


def _field_problems(raw: dict[str, Any]) -> list[str]:
    """Shape, length and character problems of the fields themselves, before their meaning."""
    problems = []
    for name in FIELDS:
        value = raw.get(name)
        if name in ("tags", "options") or value is None:
            continue
        if not _is_scalar(value):
            problems.append(f"{name} must be text, not a {type(value).__name__}")
            continue
        text = _text(value)
        limit = MAX_LENGTH.get(name, MAX_SHORT)
        if len(text) > limit:
            problems.append(f"{name} is {len(text)} characters long (at most {limit})")
        elif (bad := bad_character(text)) is not None:
            problems.append(f"{name} contains a control or invisible character ({bad})")
    return problems


def _tags(raw: Any, problems: list[str]) -> list[str]:
    tags = raw or []
    if isinstance(tags, str):
        tags = [t.strip() for t in re.split(r"[,;，；]", tags) if t.strip()]
    elif not isinstance(tags, list) or not all(_is_scalar(t) for t in tags):
        problems.append("tags must be a list or a comma-separated string")
        return []
    tags = [_text(t) for t in tags]
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in tags):
        problems.append(f"at most {MAX_TAGS} tags of at most {MAX_TAG} characters each")
    elif any(bad_character(t) for t in tags):
        problems.append("tags contain a control or invisible character")
    return tags


def _options(raw: Any, platform: str, problems: list[str]) -> dict[str, Any]:
    options = raw or {}
    if isinstance(options, str):
        try:
            options = json.loads(options)
        except (ValueError, RecursionError) as exc:
            problems.append(f"options is not valid JSON ({getattr(exc, 'msg', exc)})")
            return {}
    if not isinstance(options, dict):
        problems.append("options must be a mapping")
        return {}
    problems.extend(check_options(platform, options))
    return options


def validate_target(raw: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Normalise one registry row into a ``targets`` row, or say everything wrong with it."""
    problems: list[str] = []
    odd = [k for k in raw if k is not None and not isinstance(k, str)]
    if odd:
        problems.append(f"field names must be text (got {', '.join(repr(k) for k in odd[:3])})")
    raw = {k.strip() if isinstance(k, str) else k: v for k, v in raw.items() if k not in odd}
    unknown = sorted(k for k in raw if k not in FIELDS and k is not None)
    if unknown:
        problems.append(
            f"unknown field(s) {', '.join(unknown)} (allowed: {', '.join(FIELDS)};"
            " platform-specific settings go under 'options')"
        )
    problems.extend(_field_problems(raw))
    if problems:
        return None, problems
    platform = _text(raw.get("platform")).lower()
    if not platform:
        problems.append("platform is missing")
    elif platform not in {p.value for p in Platform}:
        problems.append(f"unknown platform {platform!r} (one of {', '.join(p.value for p in Platform)})")
    name = _text(raw.get("name"))
    if not name:
        problems.append("name is missing")
    handle, url, feed = _text(raw.get("handle")), _text(raw.get("url")), _text(raw.get("feed"))
    for label, value in (("url", url), ("feed", feed)):
        if value and not is_http_url(value):
            problems.append(f"{label} {value!r} is not an http(s) URL")
    if platform == Platform.PORTAL and not url:
        problems.append("a portal needs its homepage url")
    if platform == Platform.FEED and not feed:
        problems.append("a feed target needs a feed URL")
    if platform == Platform.WEIBO and not WEIBO_UID.fullmatch(handle):
        problems.append(f"a weibo target needs its numeric uid as handle (got {handle!r})")
    if platform and not (handle or url or feed):
        problems.append("give at least one of handle, url, feed")
    level_text = _text(raw.get("level"))
    level = LEVELS.get(level_text.lower()) if level_text else None
    if level_text and level is None:
        problems.append(f"unknown level {level_text!r} (one of {', '.join(lv.value for lv in Level)})")
    region_code = _text(raw.get("region_code"))
    if region_code and not REGION_CODE.match(region_code):
        problems.append(f"region_code {region_code!r} is not a 6-, 9- or 12-digit 行政区划 code")
    active_text = _text(raw.get("active")).lower() if raw.get("active") is not None else "true"
    if active_text not in TRUE | FALSE:
        problems.append(f"active must be true or false (got {raw.get('active')!r})")
    render = _text(raw.get("render")).lower()
    if render not in ("", "js", "http"):
        problems.append(f"render must be 'js' or empty (got {render!r})")
    tags = _tags(raw.get("tags"), problems)
    options = _options(raw.get("options"), platform, problems)
    if problems:
        return None, problems
    key = url if platform == Platform.PORTAL else (handle or url or feed)
    if platform == Platform.FEED:
        key = feed
    row = {
        "platform": platform,
        "key": key,
        "name": name,
        "handle": handle or None,
        "url": url or None,
        "feed_url": feed or None,
        "org": _text(raw.get("org")) or None,
        "region_code": region_code or None,
        "region_name": _text(raw.get("region_name")) or None,
        "level": level.value if level else None,
        "tags": json.dumps(tags, ensure_ascii=False),
        "active": 1 if active_text in TRUE else 0,
        "profile": _text(raw.get("profile")) or None,
        "render": render or None,
        "options": json.dumps(options, ensure_ascii=False, sort_keys=True),
    }
    return row, []


# --- reading the file -----------------------------------------------------------------------------


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_file(data: bytes) -> str:
    """The file's text: UTF-8 (BOM or not), UTF-16 with a BOM (Excel's "Unicode text"), else GB18030
    (Excel saves "CSV" in the system's ANSI code page, GBK on Chinese Windows)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise TargetsFileError(None, f"not readable as UTF-16: {exc.reason}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            line = _line_of(data, utf8.start)
            raise TargetsFileError(
                line, f"not UTF-8, UTF-16 or GB18030 text (byte 0x{data[utf8.start]:02x})"
            ) from utf8


def _count_values(node: yaml.Node, budget: list[int], path: set[int], depth: int = 0, line: int = 1) -> None:
    """Spend one unit of ``budget`` per value the node stands for once its aliases are expanded.

    ``line`` is where the entry being counted starts (an aliased node's own mark is its anchor's).
    """
    if depth <= 2:  # the file's entries and a 'targets' list's rows; an alias's mark is earlier
        line = max(line, node.start_mark.line + 1)
    if depth > YAML_MAX_DEPTH:
        raise TargetsFileError(line, f"nested deeper than {YAML_MAX_DEPTH} levels")
    if id(node) in path:
        raise TargetsFileError(line, "a YAML alias refers to itself")
    budget[0] -= 1
    if budget[0] < 0:
        raise TargetsFileError(
            line, f"more than {YAML_MAX_VALUES} values once its aliases are expanded (an alias bomb?)"
        )
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    if children:
        path.add(id(node))
        for child in children:
            _count_values(child, budget, path, depth + 1, line)
        path.discard(id(node))


def _yaml_rows(text: str) -> list[tuple[int, Any]]:
    """Each YAML entry with the line it starts on (1-based)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return []
        _count_values(node, [YAML_MAX_VALUES], set())
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == "targets":
                    node = value_node
                    break
            else:
                raise TargetsFileError(1, "a YAML targets file is a list, or a mapping with a 'targets' list")
        if not isinstance(node, yaml.SequenceNode):
            raise TargetsFileError(
                node.start_mark.line + 1, "a YAML targets file is a list, or a mapping with a 'targets' list"
            )
        return [(child.start_mark.line + 1, loader.construct_document(child)) for child in node.value]
    finally:
        loader.dispose()


@contextmanager
def _cell_limit(limit: int) -> Iterator[None]:
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_rows(text: str) -> list[tuple[int, Any]]:
    lines = text.splitlines(keepends=True)
    header = lines[0] if lines else ""
    # Excel's "Unicode text" export separates by tabs.
    delimiter = "\t" if "\t" in header and "," not in header else ","
    reader = csv.DictReader(lines, delimiter=delimiter)
    rows = []
    with _cell_limit(MAX_CELL):
        try:
            for raw in reader:
                if not any(_text(v) for v in raw.values() if not isinstance(v, list)):
                    continue
                if None in raw:
                    raw["(extra columns)"] = raw.pop(None)
                rows.append((reader.line_num, raw))
        except csv.Error as exc:
            reason = str(exc).replace("field larger than field limit", "a cell longer than the limit")
            raise TargetsFileError(reader.line_num + 1, f"unreadable CSV: {reason}") from exc
    return rows


def read_entries(path: Path) -> list[tuple[int, Any]]:
    """The file's entries with their lines, or TargetsFileError."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        raise TargetsFileError(None, f"{path.name}: use a .csv, .yaml or .yml file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise TargetsFileError(None, f"the file is {size} bytes (at most {MAX_FILE_BYTES})")
        data = path.read_bytes()
    except OSError as exc:
        raise TargetsFileError(None, f"cannot read {path}: {exc.strerror or exc}") from exc
    text = decode_file(data)
    try:
        entries = _yaml_rows(text) if suffix in (".yaml", ".yml") else _csv_rows(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        raise TargetsFileError(mark.line + 1 if mark else 1, f"unreadable file: {exc}") from exc
    except RecursionError as exc:
        raise TargetsFileError(1, "unreadable file: nested too deeply") from exc
    if len(entries) > MAX_ROWS:
        raise TargetsFileError(entries[MAX_ROWS][0], f"more than {MAX_ROWS} targets in one file")
    return entries


def read_targets_file(path: str | Path) -> TargetsFile:
    """Parse and validate a whole registry file; rows are returned only when no row is bad."""
    path = Path(path)
    result = TargetsFile()
    try:
        entries = read_entries(path)
    except TargetsFileError as exc:
        result.errors.append(TargetError(exc.line, exc.reason))
        return result
    seen: dict[tuple[str, str], int] = {}
    for line, raw in entries:
        if not isinstance(raw, dict):
            result.errors.append(TargetError(line, "each target must be a mapping of fields"))
            continue
        try:
            row, problems = validate_target(raw)
        except Exception as exc:  # a value of a shape nothing above foresaw: that row, with its line
            row, problems = None, [f"cannot be read ({type(exc).__name__}: {exc})"[:300]]
        for problem in problems:
            result.errors.append(TargetError(line, problem))
        if row is None:
            continue
        ident = (row["platform"], row["key"])
        if ident in seen:
            result.errors.append(
                TargetError(line, f"duplicate of line {seen[ident]} ({row['platform']} {row['key']})")
            )
            continue
        seen[ident] = line
        row["source_file"], row["source_line"] = path.name, line
        result.rows.append(row)
    if result.errors:
        result.rows = []
    return result
