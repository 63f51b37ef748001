"""The demo world is deterministic, sized by parameters, and answers conditional requests."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from core.clock import parse_iso
from demo.server import targets_yaml
from demo.world import PLANTED, World
from tests.helpers import AS_OF, ROOT, DemoWorld


def test_deterministic_and_sized() -> None:
    a = World(as_of=parse_iso(AS_OF), accounts=40, posts=12)
    b = World(as_of=parse_iso(AS_OF), accounts=40, posts=12)
    assert [(x.slug, x.archetype, [p.title for p in x.posts]) for x in a.feed_accounts] == [
        (x.slug, x.archetype, [p.title for p in x.posts]) for x in b.feed_accounts
    ]
    assert len(a.feed_accounts) == 40
    assert all(len(x.posts) == 12 for x in a.feed_accounts if x.posts)
    assert [x.archetype for x in a.feed_accounts[: len(PLANTED)]] == [p[1] for p in PLANTED]


def test_ages_relative_to_as_of() -> None:
    world = World(as_of=parse_iso(AS_OF))
    as_of = parse_iso(AS_OF)
    age = {a.archetype: (as_of - a.newest).days for a in world.feed_accounts if a.posts}
    assert age["active"] < 1
    assert age["stale"] == 20
    assert age["zombie"] == 40
    closed = world.account("qingshan-zhujian")
    assert "自2026年6月5日起停止发布信息" in closed.posts[0].body  # 25 days before as_of
    zombie = world.account("hekou-kexie")
    assert all((as_of - p.published_at).days > 365 for p in zombie.posts[1:])


def test_shipped_demo_targets_match_generator() -> None:
    generated = targets_yaml(World(as_of=parse_iso(AS_OF)), "http://127.0.0.1:8765")
    assert (ROOT / "targets" / "demo.yaml").read_text(encoding="utf-8") == generated


def test_conditional_requests(demo_world: DemoWorld) -> None:
    url = f"{demo_world.base}/feeds/linjiang-fabu.xml"
    with urllib.request.urlopen(url) as resp:
        etag, last_modified = resp.headers["ETag"], resp.headers["Last-Modified"]
    for header, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified)):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(urllib.request.Request(url, headers={header: value}))
        assert err.value.code == 304
