"""Canned-query parameters: what each one accepts, and the sentence that says why a value is refused.

Every parameter of every canned query goes through ``check_params``: English level names as the
importer accepts them (core.enums.LEVEL_ALIASES), a closed set's Chinese label for its code, dates as
YYYY-MM-DD. A value that cannot mean anything is refused with a reason instead of quietly matching
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from core.enums import Level, parse_level
from core.labels import LABELS

# The trigram index behind search_posts cannot match fewer characters than this.
MIN_SEARCH_CHARS = 3
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
GROUPINGS = ("region", "level")


@dataclass(frozen=True)
class Problem:
    param: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.param}={self.value!r}: {self.message}"


# Parameters that take a closed set: its code, or its Chinese label (单项否决 for veto).
CLOSED: dict[str, str] = {
    "platform": "platform",
    "severity": "severity",
    "state": "finding_state",
    "scope": "scope",
    "update_state": "update_state",
    "verdict": "verdict",
    "kind": "column_kind",
}


def _closed(param: str, value: str) -> tuple[str | None, str | None]:
    labels = LABELS[CLOSED[param]]
    text = value.strip()
    for code, name in labels.items():
        if text in (code, name) or text.lower() == code:
            return code, None
    choices = "、".join(f"{code}（{name}）" if code != name else code for code, name in labels.items())
    return None, f"应为以下之一：{choices}"


def _date(value: str) -> tuple[str | None, str | None]:
    text = value.strip()
    try:
        if len(text) != len("2026-06-30"):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat(), None
    except ValueError:
        return None, "日期格式应为 YYYY-MM-DD，例如 2026-06-30"


def check_param(name: str, value: str) -> tuple[str, str | None]:
    """(the value the query should get, why it is refused or None)."""
    if value is None or value.strip() == "":
        return "", None
    if name == "level":
        level = parse_level(value)
        if level is None:
            names = "、".join(lv.value for lv in Level)
            return value, f"层级应为 {names}（或 national / province / city / county / town）"
        return level.value, None
    if name in CLOSED:
        code, why = _closed(name, value)
        return (code, None) if code is not None else (value, why)
    if name in ("since", "until"):
        day, why = _date(value)
        return (day, None) if day is not None else (value, why)
    if name == "month":
        text = value.strip()
        return (text, None) if MONTH.match(text) else (value, "月份格式应为 YYYY-MM，例如 2026-05")
    if name in ("run_id", "target"):
        text = value.strip()
        return (text, None) if text.isdigit() else (value, "编号应为整数")
    if name == "by":
        text = value.strip().lower()
        return (text, None) if text in GROUPINGS else (value, "应为 region（按地区）或 level（按层级）")
    if name == "q":
        text = value.strip()
        if len(text) < MIN_SEARCH_CHARS:
            return (
                value,
                f"检索词至少需要 {MIN_SEARCH_CHARS} 个字（全文索引按三个字一组建立，"
                f"“{text}”只有 {len(text)} 个字）；可加上前后的字再检索，例如“申请注销”",
            )
        return text, None
    return value, None


def check_params(
    args: Mapping[str, str], params: list[str] | tuple[str, ...]
) -> tuple[dict[str, str], list[Problem]]:
    """The query's parameters normalized, and the problems found (an empty list when all are fine)."""
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for name in params:
        raw = args.get(name, "")
        value, why = check_param(name, raw)
        values[name] = value
        if why is not None:
            problems.append(Problem(name, raw, why))
    if not problems and values.get("since") and values.get("until") and values["since"] > values["until"]:
        problems.append(Problem("until", values["until"], f"结束日期早于开始日期 {values['since']}"))
    return values, problems
