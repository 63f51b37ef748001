"""Crawler health at spider close: a Spidermon suite, one monitor per HealthCheck, each asking
detection/health.py (the one home of the decisions) and reporting pass or fail.

The store runs the suite in its close step (pipelines/store.py), after the run row is finished and
before ``run_finished`` is sent, so detection always knows whether the run is to be trusted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

from spidermon import Monitor, MonitorRunner, MonitorSuite
from spidermon.contrib.scrapy.runners import SpiderMonitorRunner

from core.config import HealthLimits
from core.enums import HealthCheck
from core.items import HealthResult, RunProblem, RunSummary
from detection.health import HEALTH_CHECKS

logger = logging.getLogger(__name__)


class HealthMonitor(Monitor):  # type: ignore[misc]
    """Fails when its health check returns a problem; the problems are kept for the store."""

    check: ClassVar[HealthCheck]

    def test_health(self) -> None:
        problems = HEALTH_CHECKS[self.check](self.data.summary, self.data.limits)
        self.data.problems[self.check] = problems
        if problems:
            self.fail("; ".join(f"{p.problem}: {p.detail}" for p in problems))


def _monitor(check: HealthCheck) -> type[HealthMonitor]:
    doc = HEALTH_CHECKS[check].__doc__
    return type(
        f"{check.name.title().replace('_', '')}Monitor", (HealthMonitor,), {"check": check, "__doc__": doc}
    )


class RunHealthSuite(MonitorSuite):  # type: ignore[misc]
    """The crawler-health monitors, in HealthCheck order."""

    monitors: ClassVar[list[Any]] = [(check.value, _monitor(check)) for check in HealthCheck]


@dataclass
class RunHealth:
    results: list[HealthResult] = field(default_factory=list)
    problems: list[RunProblem] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def run_health_suite(summary: RunSummary, limits: HealthLimits, *, spider: Any = None) -> RunHealth:
    """Run every monitor over the run's summary; with a spider, Spidermon logs the results to its log."""
    problems: dict[HealthCheck, list[RunProblem]] = {}
    runner = SpiderMonitorRunner(spider=spider) if spider is not None else MonitorRunner()
    result = runner.run(RunHealthSuite(), summary=summary, limits=limits, problems=problems, stats={})
    health = RunHealth()
    for item in result.monitor_results:
        check = item.item.check
        found = problems.get(check)
        if found is None:  # the monitor itself raised: reported, and no problem made up for it
            detail = (str(item.error or "").strip().splitlines() or ["monitor error"])[-1]
            logger.error("health monitor %s raised: %s", check, detail)
            health.results.append(HealthResult(check.value, False, f"monitor error: {detail}"[:500]))
            continue
        detail = "; ".join(f"{p.problem}: {p.detail}" for p in found)
        health.results.append(HealthResult(check.value, not found, detail[:500]))
        health.problems.extend(found)
    order = list(HealthCheck)
    health.results.sort(key=lambda r: order.index(HealthCheck(r.monitor)))
    return health
