"""Values WeChat pages keep in inline scripts: ``var x = "" || "v"``, ``name: JsDecode('v')``, arrays."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from spiders.fields import as_int

_QUOTED = re.compile(r"""(["'])((?:\\.|(?!\1).)*)\1""")
_JS_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", re.DOTALL)
_JS_CHARS = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def js_unescape(text: str) -> str:
    """Script strings write & as \\x26 (and then &amp;), quotes as \\x22, slashes as \\/."""
    text = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m[1], 16)), text)
    return unescape(text.replace("\\/", "/"))


def js_string(text: str) -> str:
    """The value of a JS string literal's body: every escape (\\n, \\x0a, \\u4e2d, \\', \\\\) decoded."""

    def one(m: re.Match[str]) -> str:
        esc = m[1]
        if esc[0] in "xu" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        return _JS_CHARS.get(esc, esc)

    return _JS_ESCAPE.sub(one, text)


def _first_literal(expression: str) -> str | None:
    for q in _QUOTED.finditer(expression):
        if q[2].strip():
            return js_unescape(q[2].strip())
    return None


def script_var(html: str, name: str) -> str | None:
    """First non-empty string of ``var NAME = "" || "x"`` (also ``window.NAME =``, ``htmlDecode("x")``)."""
    pattern = rf"(?:\bvar\s+|window\.){re.escape(name)}\s*=\s*([^\n]*?)(?:;(?=\s|$)|\n|$)"
    for m in re.finditer(pattern, html):
        value = _first_literal(m[1])
        if value:
            return value
    return None


def script_prop(html: str, name: str) -> str | None:
    """First non-empty string of an object property ``NAME: JsDecode('x')`` / ``NAME: 'x'`` / ``NAME: "x"``
    (newer pages keep their data in ``window.cgiDataNew = {…}``); escapes decoded."""
    pattern = rf"""(?<![\w.$]){re.escape(name)}\s*:\s*(?:JsDecode\(\s*)?(["'])((?:\\.|(?!\1).)*)\1"""
    for m in re.finditer(pattern, html):
        value = unescape(js_string(m[2])).strip()
        if value:
            return value
    return None


def parse_int(value: Any) -> int | None:
    return as_int(value)


def _is_word(c: str) -> bool:
    return c.isalnum() or c in "_$"


def count_entries(html: str, array: str, key: str) -> int:
    """How many entries of the script array ``ARRAY = [ {…}, … ]`` (or ``ARRAY: [...]``) carry ``KEY``
    at their top level (``picture_page_info_list`` entries nest further ``cdn_url`` keys)."""
    m = re.search(rf"""(?<![\w.$]){re.escape(array)}["']?\s*[:=]\s*\[""", html)
    if m is None:
        return 0
    key_at = re.compile(rf"""["']?{re.escape(key)}["']?\s*:""")
    depth, count, quote, i = 1, 0, "", m.end()
    while i < len(html) and depth > 0:
        c = html[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
            i += 1
            continue
        found = key_at.match(html, i) if depth == 2 and not _is_word(html[i - 1]) else None
        if found:
            count, i = count + 1, found.end()
            continue
        if c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        i += 1
    return count


def url_query(url: str) -> dict[str, list[str]]:
    """The query of a URL (HTML-entity and script escapes undone); {} for one that cannot be split."""
    try:
        return parse_qs(urlsplit(js_unescape(url)).query)
    except ValueError:
        return {}


def url_post_id(url: str) -> str | None:
    """biz_mid_idx from an article URL's query (None for short /s/<token> and temporary links)."""
    query = url_query(url)
    biz, mid = query.get("__biz", [""])[0], query.get("mid", [""])[0]
    return f"{biz}_{mid}_{query.get('idx', ['1'])[0]}" if biz and mid else None
