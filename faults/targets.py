"""The campaign's targets: the demo world's own, and its healthy accounts again behind every fault stage;
and the oracle that says which findings a fault can justify (any other one is a false finding)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from demo import feeds, portal, wechat, weibo
from demo.world import World
from faults.server import FaultWorld, Stage

# What a fault may justify, by its kind and scope and the target's platform: a homepage that does not
# open is 站点无法访问; a feed or API that gives nothing readable is account.unavailable; a page linked
# from the homepage that does not open is a dead link. A refusal to us, a charset mistake, our own size
# cap justify nothing.
JUSTIFIED: dict[tuple[str, str, str], frozenset[str]] = {}
for _kind in ("network", "content"):
    JUSTIFIED[(_kind, "entry", "portal")] = frozenset({"portal.unreachable", "portal.unreachable_warn"})
    for _platform in ("feed", "wechat", "weibo"):
        JUSTIFIED[(_kind, "entry", _platform)] = frozenset({"account.unavailable"})
JUSTIFIED[("network", "deep", "portal")] = frozenset({"portal.dead_link_homepage", "portal.dead_links"})
# The stages repeat one demo account's posts, so each copy, and the account itself, has near-duplicates
# on other targets: a true finding about the campaign's registry, not about a fault.
REPEATED = frozenset({"account.duplicate_posts"})
REFUSING = frozenset({"freq_control", "captcha", "captcha_redirect", "http429_retry_after", "login_redirect"})


@dataclass(frozen=True)
class Planted:
    """A target of the campaign: where its findings may come from."""

    name: str
    platform: str
    original: str  # the demo account it repeats (its own name for a demo target)
    stage: str | None  # fault@scope, None for the demo world's own targets
    allowed: frozenset[str]  # rules that may be open for it


def healthy_rows(world: World, base: str) -> dict[str, dict[str, Any]]:
    """One healthy demo target per platform (the utf-8 healthy portal, active accounts)."""
    return {
        "portal": next(t for t in portal.targets(world, base) if "healthy" in t["tags"]),
        "feed": next(t for t in feeds.targets(world, base) if "active" in t["tags"]),
        "wechat": next(t for t in wechat.targets(world, base) if {"active", "wechat_mp"} <= set(t["tags"])),
        "weibo": next(t for t in weibo.targets(world, base) if "active" in t["tags"]),
    }


def expected_rules(world: World, base: str) -> dict[tuple[str, str], frozenset[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for module in (feeds, portal, wechat, weibo):
        for name, platform, rule, _ in module.expected_findings(world, base):
            out.setdefault((name, platform), set()).add(rule)
    return {k: frozenset(v) for k, v in out.items()}


def _retarget(row: dict[str, Any], base: str, origin: str) -> dict[str, Any]:
    def swap(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(base, origin)
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    return swap(row)


Rows = list[dict[str, Any]]


def campaign_targets(
    world: World,
    base: str,
    faults: FaultWorld,
    *,
    demo: bool = True,
    platforms: tuple[str, ...] = ("portal", "feed", "wechat", "weibo"),
    secrets: bool = True,
) -> tuple[Rows, list[Planted]]:
    """The rows to import and what each may be found to have: the demo world's own targets (``demo``),
    the healthy accounts of ``platforms`` behind every stage, and the two secret scenarios."""
    expected = expected_rules(world, base)
    rows: Rows = []
    planted: list[Planted] = []
    healthy = {k: v for k, v in healthy_rows(world, base).items() if k in platforms}
    for module in (feeds, portal, wechat, weibo) if demo else ():
        for row in module.targets(world, base):
            rows.append(row)
            allowed = expected.get((row["name"], row["platform"]), frozenset())
            if row in healthy.values() and row["platform"] != "portal":
                allowed |= REPEATED  # the account the stages repeat
            planted.append(Planted(row["name"], row["platform"], row["name"], None, allowed))
    for i, stage in enumerate(faults.stages):
        origin = f"http://{faults.host}:{stage.port}"
        for platform, row in healthy.items():
            copy = _retarget(row, base, origin)
            copy["name"] = f"{row['name']}·{stage.name}"
            copy["tags"] = ["fault", stage.fault.name, stage.scope]
            _alias(copy, row, platform, i, faults)
            rows.append(copy)
            allowed = expected.get((row["name"], platform), frozenset()) | JUSTIFIED.get(
                (stage.fault.kind, stage.scope, platform), frozenset()
            )
            if platform != "portal":
                allowed |= REPEATED
            planted.append(Planted(copy["name"], platform, row["name"], stage.name, allowed))
    for mode, state in (("cross", "active"), ("sso", "stale")) if secrets else ():
        row = next(t for t in wechat.targets(world, base) if {state, "wechat_mp"} <= set(t["tags"]))
        copy = _retarget(row, base, f"http://{faults.host}:{faults.secret_port}")
        copy["name"] = f"{row['name']}·secret-{mode}"
        copy["tags"] = ["fault", "secret", mode]
        alias = base64.b64encode(f"secret-{mode}".encode()).decode()
        faults.aliases[alias] = row["handle"]
        faults.secret_modes[alias] = mode
        copy["handle"], copy["options"]["fakeid"] = alias, alias
        rows.append(copy)
        # The SSO target's list is a login page: a refusal, no finding; the cross one reads its posts.
        allowed = (
            expected.get((row["name"], "wechat"), frozenset()) | REPEATED if mode == "cross" else REPEATED
        )
        planted.append(Planted(copy["name"], "wechat", row["name"], f"secret@{mode}", allowed))
    # A refusal of the MP session (frequency control, a verification page in place of the list) stops
    # every MP listing not yet started in the run: those targets are imported last, so that the other
    # stages' listings are all sent first.
    rows.sort(key=lambda r: r["platform"] == "wechat" and bool(REFUSING & set(r.get("tags") or [])))
    return rows, planted


def _alias(copy: dict[str, Any], row: dict[str, Any], platform: str, i: int, faults: FaultWorld) -> None:
    """A stage's WeChat or Weibo target has its own id (targets are unique by platform and id); the fault
    server maps it back to the demo account's."""
    if platform == "weibo":
        alias = str(880_000_000 + i)
        faults.aliases[alias] = row["handle"]
        copy["handle"] = alias
        copy["url"] = copy["url"].replace(row["handle"], alias)
    elif platform == "wechat":
        alias = base64.b64encode(f"fault-stage-{i:03d}".encode()).decode()
        faults.aliases[alias] = row["handle"]
        copy["handle"], copy["options"] = alias, {**copy["options"], "fakeid": alias}


def all_stages() -> list[Stage]:
    from faults.server import FAULTS

    return [Stage(fault, scope) for fault in FAULTS.values() for scope in ("entry", "deep")]
