"""Deterministic mutations of saved pages and API answers: the same ops from a seeded RNG (the campaign)
or from Hypothesis (the tests), so a failure found by either replays in the other."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Sequence
from typing import Any

# Values a hostile or broken source has sent where something else belonged.
NASTY_TEXT: tuple[str, ...] = (
    "",
    " ",
    "\x00",
    "\ufeff",
    "\u200b\u202e",
    "\ud800",
    "99999999999999999999",
    "-1",
    "1e400",
    "NaN",
    "昨天 25:99",
    "今天 99:99",
    "2024年13月45日",
    "二〇二六年十三月四十五日",
    "０２-３０",
    "9999小时前",
    "Sat Feb 30 25:61:61 +0800 2024",
    "createPageHTML(3000000, 0, 'index', 'html')",
    "var countPage = 99999999",
    "<totalpage>999999999</totalpage>",
    "totalRecord = 999999999; perPage = 0",
    "<![CDATA[",
    "]]>",
    "<!--",
    "<script>",
    "&#xFFFFFFFF;&#0;",
    "%",
    "{",
    "\\x",
    "http://[::1/",
    "javascript:alert(1)",
    "网站标识码：",
    "发布日期：",
    "发布时间：2024-02-30 99:99",
)
NASTY_VALUES: tuple[Any, ...] = (
    None,
    "",
    "abc",
    0,
    -1,
    True,
    1e308,
    10**30,
    "99999999999999999999",
    [],
    {},
    [None],
    {"x": None},
    "昨天 25:99",
    [[[]]],
)
TEXT_OPS = ("truncate", "insert", "delete", "replace", "duplicate", "swap_bytes")


def mutate_text(seed: str, ops: Sequence[tuple[str, float, float, int]]) -> str:
    """``seed`` after each op: (name, position 0..1, extent 0..1, choice) — all bounded in size."""
    text = seed
    for name, pos, extent, choice in ops:
        at = int(pos * len(text))
        span = max(1, int(extent * min(len(text), 2000)))
        if name == "truncate":
            text = text[:at]
        elif name == "insert":
            text = text[:at] + NASTY_TEXT[choice % len(NASTY_TEXT)] + text[at:]
        elif name == "delete":
            text = text[:at] + text[at + span :]
        elif name == "replace":
            text = text[:at] + chr(choice % 0x3000 + 1) * min(span, 8) + text[at + 1 :]
        elif name == "duplicate":
            text = text[:at] + text[at : at + span] * 2 + text[at + span :]
        elif name == "swap_bytes" and text:
            # a charset mistake on part of the page: bytes of one codec read in another
            part = text[at : at + span].encode("utf-8", "surrogatepass").decode("gb18030", "replace")
            text = text[:at] + part + text[at + span :]
    return text


def mutate_bytes(seed: bytes, ops: Sequence[tuple[str, float, float, int]]) -> bytes:
    data = seed
    for name, pos, extent, choice in ops:
        at = int(pos * len(data))
        span = max(1, int(extent * min(len(data), 2000)))
        if name == "truncate":
            data = data[:at]
        elif name == "insert":
            data = (
                data[:at] + NASTY_TEXT[choice % len(NASTY_TEXT)].encode("utf-8", "surrogatepass") + data[at:]
            )
        elif name == "delete":
            data = data[:at] + data[at + span :]
        elif name == "replace":
            data = data[:at] + bytes([choice % 256]) * min(span, 8) + data[at + 1 :]
        elif name == "duplicate":
            data = data[:at] + data[at : at + span] * 2 + data[at + span :]
        elif name == "swap_bytes":
            part = data[at : at + span].decode("utf-8", "replace").encode("gb18030", "replace")
            data = data[:at] + part + data[at + span :]
    return data


def _paths(
    value: Any, prefix: tuple[Any, ...] = (), out: list[tuple[Any, ...]] | None = None
) -> list[tuple[Any, ...]]:
    out = [] if out is None else out
    out.append(prefix)
    if len(out) > 5000:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            _paths(v, (*prefix, k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _paths(v, (*prefix, i), out)
    return out


def mutate_json(seed: Any, ops: Sequence[tuple[str, float, float, int]]) -> Any:
    """A JSON value with leaves and branches replaced by values of the wrong type, or removed; a
    string that holds JSON (MP's publish_page) may be turned back into its object or left broken."""
    data = copy.deepcopy(seed)
    for name, pos, _extent, choice in ops:
        paths = _paths(data)
        path = paths[int(pos * (len(paths) - 1))] if paths else ()
        if not path:
            data = copy.deepcopy(NASTY_VALUES[choice % len(NASTY_VALUES)]) if name == "replace" else data
            continue
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            if name in ("delete", "truncate") and isinstance(parent, dict):
                parent.pop(last, None)
            elif name == "insert" and isinstance(parent[last], str):
                parent[last] = mutate_text(parent[last], [("insert", 0.5, 0.1, choice)])
            elif name == "duplicate" and isinstance(parent[last], str) and parent[last][:1] in "{[":
                try:
                    parent[last] = json.loads(parent[last])
                except ValueError:
                    parent[last] = parent[last][: len(parent[last]) // 2]
            else:
                parent[last] = copy.deepcopy(NASTY_VALUES[choice % len(NASTY_VALUES)])
        except (KeyError, IndexError, TypeError):
            continue
    return data


def random_ops(rng: random.Random, count: int) -> list[tuple[str, float, float, int]]:
    return [
        (rng.choice(TEXT_OPS), rng.random(), rng.random() * 0.2, rng.randrange(1 << 16)) for _ in range(count)
    ]
