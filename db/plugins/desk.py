"""Datasette plugin for the desk: search hits highlighted without ever trusting scraped text as HTML.

The ``search_posts`` canned query marks hits with U+E000 … U+E001 (private-use characters no post
contains). Here the cell is HTML-escaped first, then only those two markers become <mark> tags, so a
post containing ``<script>`` still shows as text.
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from markupsafe import Markup, escape

HIT_START, HIT_END = "\ue000", "\ue001"


def highlight(value: str) -> Markup:
    """Escape ``value``, then turn the hit markers into <mark> elements."""
    safe = str(escape(value))
    return Markup(safe.replace(HIT_START, "<mark>").replace(HIT_END, "</mark>"))  # noqa: S704


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str) -> Markup | None:
    if table is None and column == "snippet" and isinstance(value, str) and HIT_START in value:
        return highlight(value)
    return None
