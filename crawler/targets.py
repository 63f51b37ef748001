"""Read and validate a targets registry (CSV or YAML): every bad row is named by line and reason."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from core.enums import LEVEL_ALIASES, Level, Platform

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
REGION_CODE = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")
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


@dataclass
class TargetError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class TargetsFile:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[TargetError] = field(default_factory=list)


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def validate_target(raw: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Normalise one registry row into a ``targets`` row, or say everything wrong with it."""
    problems: list[str] = []
    unknown = sorted(k for k in raw if k not in FIELDS and k is not None)
    if unknown:
        problems.append(
            f"unknown field(s) {', '.join(unknown)} (allowed: {', '.join(FIELDS)};"
            " platform-specific settings go under 'options')"
        )
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
    if platform == Platform.WEIBO and not re.fullmatch(r"\d{5,12}", handle):
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
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in re.split(r"[,;，；]", tags) if t.strip()]
    elif not isinstance(tags, list):
        problems.append("tags must be a list or a comma-separated string")
        tags = []
    options = raw.get("options") or {}
    if isinstance(options, str):
        try:
            options = json.loads(options)
        except json.JSONDecodeError as exc:
            problems.append(f"options is not valid JSON ({exc.msg})")
            options = {}
    if not isinstance(options, dict):
        problems.append("options must be a mapping")
        options = {}
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
        "tags": json.dumps([str(t) for t in tags], ensure_ascii=False),
        "active": 1 if active_text in TRUE else 0,
        "profile": _text(raw.get("profile")) or None,
        "render": render or None,
        "options": json.dumps(options, ensure_ascii=False, sort_keys=True),
    }
    return row, []


def _yaml_rows(text: str) -> list[tuple[int, Any]]:
    """Each YAML entry with the line it starts on (1-based)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == "targets":
                node = value_node
                break
        else:
            raise ValueError("a YAML targets file is a list, or a mapping with a 'targets' list")
    if not isinstance(node, yaml.SequenceNode):
        raise ValueError("a YAML targets file is a list, or a mapping with a 'targets' list")
    data = yaml.safe_load(text)
    items = data["targets"] if isinstance(data, dict) else data
    return [(child.start_mark.line + 1, item) for child, item in zip(node.value, items, strict=True)]


def _csv_rows(text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    rows = []
    for raw in reader:
        if not any(_text(v) for v in raw.values()):
            continue
        if None in raw:
            raw["(extra columns)"] = raw.pop(None)
        rows.append((reader.line_num, raw))
    return rows


def read_targets_file(path: str | Path) -> TargetsFile:
    """Parse and validate a whole registry file; rows are returned only when no row is bad."""
    path = Path(path)
    result = TargetsFile()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        result.errors.append(TargetError(0, f"cannot read {path}: {exc}"))
        return result
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            entries = _yaml_rows(text)
        elif path.suffix.lower() == ".csv":
            entries = _csv_rows(text)
        else:
            result.errors.append(TargetError(0, f"{path.name}: use a .csv, .yaml or .yml file"))
            return result
    except (yaml.YAMLError, ValueError, csv.Error) as exc:
        mark = getattr(exc, "problem_mark", None)
        result.errors.append(TargetError(mark.line + 1 if mark else 0, f"unreadable file: {exc}"))
        return result
    seen: dict[tuple[str, str], int] = {}
    for line, raw in entries:
        if not isinstance(raw, dict):
            result.errors.append(TargetError(line, "each target must be a mapping of fields"))
            continue
        row, problems = validate_target(raw)
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
