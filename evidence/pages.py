"""Which pages a finding's evidence points at: the URLs in its evidence, else the target's own page."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

# Evidence keys that name the page showing the problem, most telling first: the notice or message
# itself, the dead link and the page it is on, the homepage, a board.
PAGE_KEYS = ("url", "notice_url", "found_on", "homepage_url", "board_url")


def is_http_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and " " not in value


def _urls(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key in PAGE_KEYS:
            if is_http_url(value.get(key)):
                yield value[key]
        for key, inner in value.items():
            if isinstance(inner, (list, Mapping)) and key not in ("linked_targets", "migration_targets"):
                yield from _urls(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _urls(inner)


def pages_for(finding: Mapping[str, Any], *, limit: int) -> list[str]:
    """The http(s) pages to capture for ``finding`` (a pending_captures row), at most ``limit``.

    The evidence's own URLs come first (a subject that is a URL — a dead link, a column — next); a finding
    whose evidence names no page (an account not updated, a site unreachable) is about the target, so its
    feed or homepage is what was seen, and an account's newest post shows how old its newest content is.
    """
    raw = finding.get("evidence")
    evidence = json.loads(raw) if isinstance(raw, str) and raw else raw or {}
    found = list(_urls(evidence))
    if is_http_url(finding.get("subject")):
        found.append(finding["subject"])
    if not found:
        own = (finding.get("feed_url"), finding.get("target_url"), finding.get("newest_post_url"))
        found.extend(u for u in own if isinstance(u, str) and is_http_url(u))
    return list(dict.fromkeys(found))[: max(limit, 0)]
