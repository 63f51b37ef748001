"""How a value reads on the desk: Chinese labels for codes, 是/否 for flags, times as 2026-10-22 16:00,
links only to http(s) (and to the desk's own cards), JSON as a readable list — scraped text always escaped.

Pure functions of the value (and its row): the Datasette plugin calls ``render_cell`` for every table
and query cell, the templates call the same filters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from core.clock import CHINA_TZ
from core.labels import EVIDENCE_LABELS, FLAG_COLUMNS, NO, YES, column_label
from db.desk import DESK_DATABASE

ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
# Columns holding JSON written by this project (never scraped HTML): shown as key/value lists.
JSON_COLUMNS = frozenset(
    {"evidence", "closure_evidence", "stats", "breakdown", "settings", "options", "tags", "problems_json"}
)
# Cells naming a target: linked to its card when the row carries target_id, and never wrapped.
NAME_COLUMNS = frozenset({"name", "target_name", "site", "account"})
URL_DISPLAY = 40
HIT_START, HIT_END = "\ue000", "\ue001"


def is_http_url(value: object) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(("http://", "https://"))
        and not any(c.isspace() for c in value)
    )


def format_time(value: str) -> str:
    """``2026-10-22T16:00:00+08:00`` -> ``2026-10-22 16:00`` (China time); anything else unchanged."""
    if not isinstance(value, str) or not ISO_TIME.match(value):
        return value
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if dt.tzinfo is not None:
        dt = dt.astimezone(CHINA_TZ)
    return dt.strftime("%Y-%m-%d %H:%M")


def time_html(value: str) -> Markup:
    """A time as date and clock, each unbreakable, so a narrow column wraps between them, never inside."""
    day, _, clock = format_time(value).partition(" ")
    return Markup('<time datetime="{0}" title="{0}"><span>{1}</span> <span>{2}</span></time>').format(
        value, day, clock
    )


def link(url: str, text: str | None = None, *, cls: str = "") -> Markup:
    """An <a> to an http(s) URL; anything else (javascript:, data:, file:) is only text."""
    shown = text if text is not None else _short(url)
    if not is_http_url(url):
        return Markup('<span class="not-a-link" title="{}">{}</span>').format(url, shown)
    return Markup('<a href="{}" class="{}" rel="noopener noreferrer nofollow">{}</a>').format(url, cls, shown)


def _short(url: str) -> str:
    """A URL as a reader scans it: without the scheme, cut after URL_DISPLAY characters."""
    text = url.split("://", 1)[-1]
    return text if len(text) <= URL_DISPLAY else text[: URL_DISPLAY - 1] + "…"


def desk_path(table: str, pk: int | str) -> str:
    return f"/{DESK_DATABASE}/{table}/{int(pk)}"


def card_link(table: str, pk: int | str, text: str, *, cls: str = "") -> Markup:
    """A link to a row's card on the desk (findings, targets): the key is an integer, never scraped text."""
    return Markup('<a href="{}" class="{}">{}</a>').format(desk_path(table, pk), cls, text)


def highlight(value: str) -> Markup:
    """Escape ``value``, then turn the search hit markers (U+E000 … U+E001) into <mark> elements."""
    safe = str(escape(value))
    return Markup(safe.replace(HIT_START, "<mark>").replace(HIT_END, "</mark>"))  # noqa: S704


def render_value(value: Any, key: str | None = None) -> Markup:
    """A JSON value (or a plain one) as HTML: links, times, nested lists, 是/否."""
    if value is None or value == "":
        return Markup('<span class="empty">—</span>')
    if isinstance(value, bool):
        return escape(YES if value else NO)
    if isinstance(value, Mapping):
        return render_mapping(value)
    if isinstance(value, list):
        if not value:
            return Markup('<span class="empty">（无）</span>')
        items = Markup("").join(Markup("<li>{}</li>").format(render_value(v, key)) for v in value)
        return Markup('<ul class="json-list">{}</ul>').format(items)
    if isinstance(value, str):
        if is_http_url(value):
            return link(value)
        if ISO_TIME.match(value):
            return time_html(value)
        if key == "sentence":
            return Markup("<blockquote>{}</blockquote>").format(value)
        coded = column_label(key or "", value)
        if coded is not None:
            return Markup('<span title="{}">{}</span>').format(value, coded)
        return Markup("{}").format(value)
    return Markup("{}").format(value)


def render_mapping(value: Mapping[str, Any]) -> Markup:
    rows = Markup("").join(
        Markup('<div class="kv"><dt title="{}">{}</dt><dd>{}</dd></div>').format(
            k, EVIDENCE_LABELS.get(k, k), render_value(v, k)
        )
        for k, v in value.items()
    )
    return Markup('<dl class="json">{}</dl>').format(rows)


def _brief(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{…}"
    if isinstance(value, list):
        return f"[{len(value)} 项]"
    if isinstance(value, bool):
        return YES if value else NO
    text = format_time(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def render_json_text(text: str) -> Markup | None:
    """JSON in a table cell: a one-line summary that opens into the full key/value list."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return None
    if isinstance(data, Mapping):
        summary = " · ".join(f"{EVIDENCE_LABELS.get(k, k)} {_brief(v)}" for k, v in list(data.items())[:3])
        if len(data) > 3:
            summary += " …"
    elif isinstance(data, list):
        summary = f"{len(data)} 项"
    else:
        return None
    return Markup('<details class="json-cell"><summary>{}</summary>{}</details>').format(
        summary or "（空）", render_value(data)
    )


def render_cell(
    value: Any, column: str, row: Mapping[str, Any] | None, table: str | None = None
) -> Markup | None:
    """The desk's HTML for one cell, or None to leave it to Datasette (foreign-key labels, numbers).

    A string that is not an http(s) URL is never a link here, and Datasette links only http(s) too.
    """
    if isinstance(value, bytes):
        return None
    if column == "snippet" and isinstance(value, str) and HIT_START in value:
        return highlight(value)
    keys = set(row.keys()) if row is not None and hasattr(row, "keys") else set()
    if column == "finding_id" and isinstance(value, int):
        return card_link("findings", value, f"问题 #{value}", cls="card-link")
    if column.endswith("target_id") and table is None and isinstance(value, int):  # tables label their keys
        return card_link("targets", value, f"#{value}", cls="card-link")
    if column in NAME_COLUMNS and isinstance(value, str):
        if "target_id" in keys and isinstance(row["target_id"], int):  # type: ignore[index]
            return card_link("targets", row["target_id"], value, cls="name")  # type: ignore[index]
        return Markup('<span class="name">{}</span>').format(value)
    if value is None or value == "":
        return None
    if column in FLAG_COLUMNS and value in (0, 1, "0", "1"):
        return Markup('<span class="flag flag-{}">{}</span>').format(int(value), YES if int(value) else NO)
    coded = column_label(column, value)
    if coded is not None and coded != value:
        return Markup('<span class="code" title="{}">{}</span>').format(value, coded)
    if isinstance(value, str):
        if column in JSON_COLUMNS and value[:1] in "{[":
            rendered = render_json_text(value)
            if rendered is not None:
                return rendered
        if ISO_TIME.match(value):
            return time_html(value)
        if is_http_url(value):
            return link(value, cls="url")
    return None
