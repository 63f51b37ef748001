"""Property-based: every pure parser and rule on hostile input answers, or refuses with SourceError.

The parsers are faults/parsers.py's registry, each called the way its spider calls it, on the saved
pages of tests/fixtures (and ../shared/fixtures/real when present) as they are, mutated (truncated,
spliced with hostile values, bytes of one codec read in another, JSON fields of the wrong type), or on
inputs Hypothesis makes up. The rules take facts of every shape the store can hold. A bad field is lost,
never the page (style.md); `make faults` runs the same registry for tens of thousands of calls.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import CHINA_TZ, iso
from core.enums import CheckOutcome, ColumnKind, ColumnStatus, Coverage
from detection.rules.account import AccountFacts, Candidate, Successor, evaluate_account
from detection.rules.config import load_rules
from detection.rules.freshness import combine_gaps, is_stale, is_zombie, months_before
from detection.rules.notice import MigrationTarget, Notice, classify_notice
from detection.rules.portal import evaluate_portal
from detection.rules.quality import cluster_near_duplicates, simhash
from detection.rules.result import CheckSummary
from detection.rules.verdict import decide_verdict
from faults.mutate import TEXT_OPS, mutate_bytes, mutate_json, mutate_text
from faults.parsers import PARSERS, Parser, call_safely

QUICK = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=CHINA_TZ)
RULES = load_rules()
S = RULES.resolved(RULES.default_profile)

OPS = st.lists(
    st.tuples(
        st.sampled_from(TEXT_OPS),
        st.floats(0, 1),
        st.floats(0, 0.2),
        st.integers(0, 1 << 16),
    ),
    max_size=4,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def made_up(parser: Parser) -> st.SearchStrategy[Any]:
    if parser.kind == "bytes":
        return st.binary(max_size=400)
    if parser.kind == "json":
        return JSON
    return st.text(max_size=400)


def mutated(parser: Parser, seed: Any, ops: list[tuple[str, float, float, int]]) -> Any:
    if parser.kind == "bytes":
        return mutate_bytes(seed, ops)
    if parser.kind == "json":
        return mutate_json(seed, ops)
    return mutate_text(seed, ops)


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.name)
@QUICK
@given(data=st.data())
def test_parsers_never_raise(parser: Parser, data: st.DataObject) -> None:
    if data.draw(st.booleans(), label="from a fixture"):
        seed = data.draw(st.sampled_from(parser.seeds), label="fixture")
        value = mutated(parser, seed, data.draw(OPS, label="mutations"))
    else:
        value = data.draw(made_up(parser), label="made up")
    exc = call_safely(parser, value)
    assert exc is None, f"{parser.name} raised {type(exc).__name__}: {exc}"


def test_every_fixture_seeds_a_parser() -> None:
    """The registry reads the saved pages: a platform's fixtures are all some parser's seeds."""
    from faults.parsers import FIXTURES

    assert all(p.seeds for p in PARSERS)
    seeded = {s for p in PARSERS if p.kind == "bytes" for s in p.seeds}
    for path in FIXTURES.glob("portal/*.html"):
        assert path.read_bytes() in seeded, path.name


# --- rules over facts of every shape the store holds ----------------------------------------------

WHEN = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (hypothesis bounds are naive; timezones= sets the zone)
    max_value=datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.just(CHINA_TZ),
)
ISO = st.none() | WHEN.map(iso)
COUNT = st.none() | st.integers(0, 10_000)


@st.composite
def portal_facts(draw: st.DrawFn) -> dict[str, Any]:
    probes = draw(
        st.none()
        | st.fixed_dictionaries(
            {"probes": st.integers(0, 50), "failed": st.integers(0, 50)},
            optional={
                "latest_ok": st.sampled_from([0, 1]),
                "latest_outcome": st.sampled_from(list(CheckOutcome)),
            },
        )
    )
    site = draw(
        st.none()
        | st.fixed_dictionaries(
            {
                "homepage_url": st.just("http://127.0.0.1:9/"),
                "final_url": st.none() | st.just("http://127.0.0.1:9/index.html"),
                "homepage_newest_at": ISO,
                "homepage_items": COUNT,
                "homepage_undated": COUNT,
                "site_id_code": st.none() | st.text(max_size=12),
                "site_id_code_valid": st.none() | st.sampled_from([0, 1]),
            }
        )
    )
    column = st.fixed_dictionaries(
        {
            "url": st.text(min_size=1, max_size=20),
            "name": st.none() | st.text(max_size=10),
            "kind": st.sampled_from(list(ColumnKind)),
            "status": st.sampled_from(list(ColumnStatus)),
            "item_count": COUNT,
            "undated_count": COUNT,
            "newest_item_at": ISO,
        }
    )
    link = st.fixed_dictionaries(
        {
            "url": st.text(max_size=20),
            "found_on": st.none() | st.just("http://127.0.0.1:9/") | st.text(max_size=10),
            "outcome": st.sampled_from(list(CheckOutcome)),
            "http_status": st.none() | st.integers(100, 599),
        }
    )
    message = st.fixed_dictionaries(
        {
            "message_id": st.text(max_size=8),
            "title": st.none() | st.text(max_size=10),
            "url": st.none() | st.text(max_size=10),
            "board_url": st.text(max_size=10),
            "asked_at": ISO,
            "answered_at": ISO,
        }
    )
    return {
        "probes": probes,
        "site": site,
        "columns": draw(st.lists(column, max_size=8)),
        "dead_links": draw(st.lists(link, max_size=5)),
        "messages": draw(st.lists(message, max_size=5)),
    }


@QUICK
@given(facts=portal_facts())
def test_evaluate_portal_answers_any_facts(facts: dict[str, Any]) -> None:
    out = evaluate_portal(S, as_of=AS_OF, **facts)
    verdict = decide_verdict(
        out.findings, coverage=out.coverage, reason=out.reason, rules=S, scoring=RULES.scoring
    )
    assert verdict.verdict is not None


@st.composite
def account_facts(draw: st.DrawFn) -> AccountFacts:
    failure = st.fixed_dictionaries(
        {"outcome": st.sampled_from(list(CheckOutcome)), "url": st.text(max_size=10)}
    )
    checks = draw(
        st.none()
        | st.builds(
            lambda n, answered, failures: CheckSummary(1, n, min(answered, n), tuple(failures)),
            st.integers(0, 6),
            st.integers(0, 6),
            st.lists(failure, max_size=3),
        )
    )
    posts = draw(
        st.none()
        | st.fixed_dictionaries(
            dict.fromkeys(
                (
                    "window_posts",
                    "window_known_original",
                    "window_original",
                    "window_reposts",
                    "window_posters",
                    "window_meetings",
                    "year_posts",
                    "month_original",
                ),
                COUNT,
            )
            | {"newest_at": ISO}
        )
    )
    state = draw(
        st.none()
        | st.fixed_dictionaries(
            {
                "status": st.sampled_from(
                    ["active", "deleted", "banned", "blocked", "login_required", "unknown"]
                )
            },
            optional={"posts_count": COUNT, "status_reason": st.text(max_size=10)},
        )
    )
    gaps = draw(
        st.none()
        | st.tuples(st.floats(0, 400), st.floats(0, 400), st.integers(0, 20), st.floats(2.45e6, 2.47e6))
    )
    day = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 1, 1)))
    notice = Notice(
        action="停止更新",
        sentence="本账号停止更新",
        subjects=draw(st.lists(st.text(max_size=6), max_size=2)),
        effective_date=day,
        date_source="explicit",
        shutdown_date=draw(st.none() | st.just(day + timedelta(days=30))),
        migration_targets=[MigrationTarget("account", "临江发布")],
    )
    post = {"post_id": "p1", "url": None, "title": "停更", "published_at": iso(AS_OF - timedelta(days=40))}
    with_notice = draw(st.booleans())
    candidate = Candidate(2, "临江发布", draw(st.sampled_from(["weibo", "portal", "feed"])), draw(ISO))
    return AccountFacts(
        platform=draw(st.sampled_from(["weibo", "wechat", "feed"])),
        checks=checks,
        state=state,
        posts=posts,
        gaps=gaps,
        notices=[(post, notice)] if with_notice else [],
        successors=(Successor("临江发布", (candidate,)),) if with_notice else (),
        duplicates=draw(st.tuples(st.integers(0, 5), st.integers(0, 5), st.just(()))),
    )


@QUICK
@given(facts=account_facts())
def test_evaluate_account_answers_any_facts(facts: AccountFacts) -> None:
    out = evaluate_account(S, as_of=AS_OF, facts=facts)
    assert out.coverage in set(Coverage)
    decide_verdict(out.findings, coverage=out.coverage, reason=out.reason, rules=S, scoring=RULES.scoring)


@QUICK
@given(
    title=st.none() | st.text(max_size=40),
    text=st.none() | st.text(max_size=300),
    posted=WHEN,
    last=st.none() | WHEN,
    days=st.integers(-1000, 1000),
    months=st.integers(-30, 30),
)
def test_freshness_and_notice_rules_answer_any_input(
    title: str | None, text: str | None, posted: datetime, last: datetime | None, days: int, months: int
) -> None:
    classify_notice(title, text, posted)
    is_stale(last, AS_OF, days)
    is_zombie(last, AS_OF, abs(months))
    months_before(AS_OF, months)
    combine_gaps((1.0, 0.0, 0, 2.46e6), 2.46e6 + days, abs(days))
    simhash(text or "")


@QUICK
@given(hashes=st.lists(st.tuples(st.integers(0, 100), st.integers(0, 2**64 - 1)), max_size=20))
def test_near_duplicate_clustering_answers_any_hashes(hashes: list[tuple[int, int]]) -> None:
    clusters = cluster_near_duplicates(hashes, 3)
    assert set(clusters) <= {pid for pid, _ in hashes}
