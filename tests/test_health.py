"""Crawler health: each monitor fails on a run built to trip it, passes on the healthy demo crawl, and a
run-wide failure makes the run untrusted (detection holds its targets)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from core.config import HealthLimits
from core.enums import HealthCheck, ProblemKind, RunStatus
from core.items import RunSummary
from db import open_db
from db.serve import build_metadata
from detection.health import HEALTH_CHECKS, assess_run
from pipelines.health import run_health_suite
from tests.conftest import SPIDERS, Crawl

LIMITS = HealthLimits()
# A run that passes every check: 40 targets, 100 fetches of which a few failed or were refused.
HEALTHY = RunSummary(
    run_id=7,
    targets=40,
    network_failed_targets=2,
    planned=40,
    items=900,
    checks=100,
    failed_checks=10,
    blocked_checks=5,
    probes=5,
    probes_failed=1,
    previous_status=RunStatus.FINISHED,
    previous_run_id=6,
)
# One run built to trip each monitor, and the problem it must record.
TRIPS: dict[HealthCheck, tuple[RunSummary, ProblemKind, bool]] = {
    HealthCheck.OUTPUT: (
        replace(HEALTHY, checks=0, items=0, failed_checks=0, blocked_checks=0),
        ProblemKind.NO_OUTPUT,
        True,
    ),
    HealthCheck.ERRORS: (replace(HEALTHY, failed_checks=45, exceptions=10), ProblemKind.ERRORS, True),
    HealthCheck.BLOCKED: (replace(HEALTHY, blocked_checks=50), ProblemKind.BLOCKED, True),
    HealthCheck.REACHABILITY: (replace(HEALTHY, canaries=2, canaries_failed=2), ProblemKind.OFFLINE, True),
    HealthCheck.BROWSER: (
        replace(
            HEALTHY, crawler_outcomes={"no_browser": 3}, crawler_examples={"no_browser": "Chromium not found"}
        ),
        ProblemKind.NO_BROWSER,
        False,  # only the fetches that needed it: detection holds those targets, not the run
    ),
    HealthCheck.CREDENTIALS: (
        replace(
            HEALTHY, crawler_outcomes={"no_credentials": 4}, crawler_examples={"no_credentials": "no token"}
        ),
        ProblemKind.NO_CREDENTIALS,
        False,
    ),
    HealthCheck.PREVIOUS_RUN: (
        replace(HEALTHY, previous_status=RunStatus.ABORTED),
        ProblemKind.AFTER_ABORT,
        True,
    ),
}


def test_every_monitor_has_a_trip() -> None:
    assert set(TRIPS) == set(HealthCheck)


def test_the_healthy_run_passes_every_monitor() -> None:
    health = run_health_suite(HEALTHY, LIMITS)
    assert [r.monitor for r in health.results] == [c.value for c in HealthCheck]
    assert health.passed
    assert not health.problems
    assert assess_run(HEALTHY, LIMITS) == []


@pytest.mark.parametrize("check", list(HealthCheck))
def test_each_monitor_fails_on_the_run_built_to_trip_it(check: HealthCheck) -> None:
    summary, problem, blocks = TRIPS[check]
    health = run_health_suite(summary, LIMITS)
    failed = {r.monitor: r.detail for r in health.results if not r.passed}
    assert set(failed) == {check.value}, failed  # that monitor, and only that one
    assert [(p.problem, p.blocks_trust) for p in health.problems] == [(problem, blocks)]
    assert failed[check.value]  # the detail says why


def test_reachability_other_ways_offline() -> None:
    check = HEALTH_CHECKS[HealthCheck.REACHABILITY]
    network = replace(HEALTHY, targets=10, network_failed_targets=8)
    assert [p.problem for p in check(network, LIMITS)] == [ProblemKind.OFFLINE]
    assert check(replace(network, network_failed_targets=7), LIMITS) == []  # 70 % < 80 %
    probes = replace(HEALTHY, probes=3, probes_failed=3)
    assert "every homepage probe failed" in check(probes, LIMITS)[0].detail
    assert check(replace(probes, probes=2, probes_failed=2), LIMITS) == []  # fewer than offline_min_targets
    # a canary that answered says the crawler is online, whatever the targets did
    assert check(replace(network, canaries=1, canaries_failed=0), LIMITS) == []


def test_shares_at_their_boundaries() -> None:
    errors, blocked = HEALTH_CHECKS[HealthCheck.ERRORS], HEALTH_CHECKS[HealthCheck.BLOCKED]
    assert errors(replace(HEALTHY, failed_checks=50), LIMITS)  # exactly 50 %
    assert not errors(replace(HEALTHY, failed_checks=49), LIMITS)
    assert blocked(replace(HEALTHY, blocked_checks=50), LIMITS)
    assert not blocked(replace(HEALTHY, blocked_checks=49), LIMITS)
    few = replace(HEALTHY, checks=9, failed_checks=9, blocked_checks=9)  # below min_checks: no judgement
    assert not errors(few, LIMITS)
    assert not blocked(few, LIMITS)
    assert errors(few, replace(LIMITS, min_checks=5))


def test_a_spider_with_nothing_to_do_is_not_a_failure() -> None:
    idle = replace(HEALTHY, planned=0, checks=0, items=0, failed_checks=0, blocked_checks=0)
    assert HEALTH_CHECKS[HealthCheck.OUTPUT](idle, LIMITS) == []
    # only crawler-side fetches (every page needed a browser): the browser monitor says so, not output
    browserless = replace(idle, planned=2, crawler_outcomes={"no_browser": 2})
    assert HEALTH_CHECKS[HealthCheck.OUTPUT](browserless, LIMITS) == []


def test_a_monitor_that_raises_is_reported_not_hidden() -> None:
    broken = replace(HEALTHY, checks=None)  # type: ignore[arg-type]
    health = run_health_suite(broken, LIMITS)
    failed = {r.monitor: r.detail for r in health.results if not r.passed}
    assert failed[HealthCheck.ERRORS.value].startswith("monitor error: TypeError")
    assert not health.passed
    assert ProblemKind.ERRORS not in {p.problem for p in health.problems}  # no problem made up for it


@pytest.mark.browser  # the demo crawl is healthy where Chromium renders its JavaScript-only pages
def test_the_healthy_demo_crawl_passes_every_monitor(world_crawl: Crawl) -> None:
    db = open_db(world_crawl.db_path)
    try:
        rows = list(db.query("SELECT * FROM run_health WHERE spider != 'detect' ORDER BY run_id"))
        monitors = list(db.query("SELECT * FROM run_monitor_history"))
    finally:
        db.close()
    assert [(r["spider"], r["health"], r["monitors_passed"], r["trusted"]) for r in rows] == [
        (s, "ok", len(HealthCheck), 1) for s in SPIDERS
    ]
    assert {m["result"] for m in monitors} == {"pass"}


@pytest.mark.browser  # the demo crawl is healthy where Chromium renders its JavaScript-only pages
def test_the_desk_shows_health_and_its_history(world_crawl: Crawl) -> None:
    queries = build_metadata()["databases"]["monitor"]["queries"]
    sql = queries["crawler_health"]["sql"]
    with sqlite3.connect(world_crawl.db_path) as conn:
        rows = conn.execute(sql, {"spider": "", "monitor": "", "result": ""}).fetchall()
        failed = conn.execute(sql, {"spider": "", "monitor": "", "result": "fail"}).fetchall()
    assert len(rows) == len(SPIDERS) * len(HealthCheck)
    assert failed == []
