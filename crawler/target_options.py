"""A target's ``options`` mapping checked per platform, so a bad option is an import error with its line,
not a spider that fails to start (wechat ``article_urls`` must be http(s) URLs, and so on)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from core.enums import ColumnKind, Platform, WechatMode

MAX_OPTIONS_BYTES = 64 * 1024  # as stored: JSON text
MAX_DEPTH = 6
MAX_URL = 2048
WECHAT_MODES = tuple(m.value for m in WechatMode)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_http_url(value: Any) -> bool:
    """An absolute http(s) URL with a host, no whitespace or control character, of a sane length."""
    if not isinstance(value, str) or len(value) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # a port that is not a number in range raises
    except ValueError:  # http://[::1/, http://a:99999/ and other unparseable netlocs
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def depth_of(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((depth_of(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((depth_of(v, level + 1) for v in value), default=level + 1)
    return level


def _url(name: str, value: Any) -> list[str]:
    return [] if is_http_url(value) else [f"options.{name} {str(value)[:80]!r} is not an http(s) URL"]


def _text(name: str, value: Any) -> list[str]:
    return [] if isinstance(value, str | int) else [f"options.{name} must be text"]


def _url_list(name: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        return [f"options.{name} must be a list of http(s) URLs"]
    return [
        f"options.{name}[{i}] {str(u)[:80]!r} is not an http(s) URL"
        for i, u in enumerate(value)
        if not is_http_url(u)
    ]


def _mode(name: str, value: Any) -> list[str]:
    ok = isinstance(value, str) and value.lower() in WECHAT_MODES
    return (
        [] if ok else [f"options.{name} must be one of {', '.join(WECHAT_MODES)} (got {str(value)[:40]!r})"]
    )


def _sogou_type(name: str, value: Any) -> list[str]:
    return (
        []
        if value in (1, 2, "1", "2")
        else [f"options.{name} must be 1 (account search) or 2 (article search)"]
    )


def _columns(name: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        return [f"options.{name} must be a list of URLs or {{url, name}} mappings"]
    problems = []
    for i, spec in enumerate(value):
        url = spec.get("url") if isinstance(spec, dict) else spec
        if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL:
            problems.append(f"options.{name}[{i}] needs a url")
        elif SCHEME.match(url) and not is_http_url(url):  # relative URLs are the homepage's
            problems.append(f"options.{name}[{i}] {url[:80]!r} is not an http(s) URL")
    return problems


def _column_rules(name: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        return [f"options.{name} must be a list of [rule_id, field, pattern, kind]"]
    kinds = {k.value for k in ColumnKind}
    problems = []
    for i, row in enumerate(value):
        parts = (
            [row.get(k) for k in ("rule_id", "field", "pattern", "kind")] if isinstance(row, dict) else row
        )
        if not isinstance(parts, list) or len(parts) != 4:
            problems.append(f"options.{name}[{i}] must be [rule_id, field, pattern, kind]")
            continue
        _, fld, pattern, kind = parts
        if fld not in ("column_type", "name", "url") or kind not in kinds:
            problems.append(f"options.{name}[{i}]: field in column_type/name/url, kind in {sorted(kinds)}")
            continue
        try:
            re.compile(str(pattern))
        except (re.error, RecursionError, OverflowError) as exc:
            problems.append(f"options.{name}[{i}]: bad pattern ({exc})")
    return problems


Check = Callable[[str, Any], list[str]]
# Options each platform's spider reads, and how each is checked; other keys are kept as given.
KNOWN: dict[str, dict[str, Check]] = {
    Platform.WECHAT: {
        "mode": _mode,
        "fakeid": _text,
        "article_urls": _url_list,
        "list_url": _url,
        "mp_base": _url,
        "sogou_base": _url,
        "sogou_query": _text,
        "sogou_type": _sogou_type,
        "history_url": _url,
        "biz": _text,
    },
    Platform.WEIBO: {"weibo_base": _url},
    Platform.PORTAL: {"columns": _columns, "column_rules": _column_rules},
}


def check_options(platform: str, options: dict[str, Any]) -> list[str]:
    """Everything wrong with a target's options, for its platform."""
    problems = [f"options key {k!r} must be text" for k in options if not isinstance(k, str)]
    if problems:
        return problems
    if depth_of(options) > MAX_DEPTH:
        return [f"options nest deeper than {MAX_DEPTH} levels"]
    try:
        size = len(json.dumps(options, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        return [f"options must be plain text, numbers, lists and mappings ({exc})"]
    if size > MAX_OPTIONS_BYTES:
        return [f"options are {size} bytes as JSON (at most {MAX_OPTIONS_BYTES})"]
    for key, check in KNOWN.get(platform, {}).items():
        if key in options and options[key] is not None:
            problems.extend(check(key, options[key]))
    return problems
