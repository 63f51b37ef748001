"""What a pure evaluation returns: the findings, the rules it could judge, and how much it could read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.enums import Coverage


@dataclass
class Finding:
    rule: str
    evidence: dict[str, Any]
    subject: str = ""
    points: float | None = None


@dataclass
class Evaluation:
    findings: list[Finding] = field(default_factory=list)
    # Rules evaluated, and so allowed to resolve: a rule left out neither opens nor resolves anything.
    scope: set[str] = field(default_factory=set)
    coverage: Coverage = Coverage.READ
    reason: str | None = None  # why nothing (or not everything) could be read
    judged_run_id: int | None = None  # the crawl run whose data was judged

    def add(
        self, rule: str, evidence: dict[str, Any], *, subject: str = "", points: float | None = None
    ) -> None:
        self.findings.append(Finding(rule, evidence, subject, points))


@dataclass(frozen=True)
class CheckSummary:
    """A target's fetches of one kind in one run, as a verdict reads them (order does not matter)."""

    run_id: int | None
    checks: int
    answered: int  # ok or not modified
    failures: tuple[dict[str, Any], ...] = ()  # target-side failures, most telling first

    @property
    def failed(self) -> int:
        return self.checks - self.answered
