"""Is a run evidence? Every crawler-health decision, as pure functions over what the run fetched.

One function per health check (the Spidermon monitors in pipelines/health.py call these and nothing
else); each returns the problems it sees, none when the run passes it. A failed check is alerted and
makes findings provisional: a run-wide failure (no output, errors, blocked, offline, after an abort)
blocks trust in the whole run, so detection holds every target of it; a missing browser or missing
credentials concerns only the fetches that needed them, which say so themselves (outcome no_browser /
no_credentials), so detection holds exactly the targets that had nothing else. The thresholds are
MONITOR_* settings, carried in ``HealthLimits``.
"""

from __future__ import annotations

from collections.abc import Callable

from core.config import HealthLimits
from core.enums import CheckOutcome, HealthCheck, ProblemKind, RunStatus
from core.items import RunProblem, RunSummary


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({part / whole:.0%})" if whole else f"{part} of 0"


def check_output(summary: RunSummary, limits: HealthLimits) -> list[RunProblem]:
    """A run that had targets and recorded no fetch read nothing: never an empty success."""
    if summary.planned == 0 or summary.checks or summary.crawler_outcomes:
        return []
    planned = f"{summary.planned} targets planned" if summary.planned else "targets planned"
    detail = f"{planned}, {summary.items} items stored, no fetch of a target recorded"
    return [RunProblem(ProblemKind.NO_OUTPUT, detail, 1, True)]


def check_errors(summary: RunSummary, limits: HealthLimits) -> list[RunProblem]:
    """Most fetches failing, or callbacks raising, says more about the crawler than about the sites."""
    failed = summary.failed_checks + summary.exceptions
    whole = summary.checks + summary.exceptions
    if whole >= limits.min_checks and failed >= limits.error_share * whole:
        detail = (
            f"{_share(failed, whole)} fetches failed or raised ({summary.exceptions} callback exceptions); "
            f"limit {limits.error_share:.0%}"
        )
        return [RunProblem(ProblemKind.ERRORS, detail, failed, True)]
    return []


def check_blocked(summary: RunSummary, limits: HealthLimits) -> list[RunProblem]:
    """Most fetches refused (captcha, rate limit, login wall): the platforms are refusing the crawler."""
    if (
        summary.checks >= limits.min_checks
        and summary.blocked_checks >= limits.blocked_share * summary.checks
    ):
        share = _share(summary.blocked_checks, summary.checks)
        detail = f"{share} fetches refused; limit {limits.blocked_share:.0%}"
        return [RunProblem(ProblemKind.BLOCKED, detail, summary.blocked_checks, True)]
    return []


def check_reachability(summary: RunSummary, limits: HealthLimits) -> list[RunProblem]:
    """Offline: every canary failed; or, with no canary, nearly every target failed at the network level,
    or every homepage probe failed."""
    if summary.canaries:
        if summary.canaries_failed == summary.canaries:
            detail = f"every canary failed ({summary.canaries}): the crawler could not reach the internet"
            return [RunProblem(ProblemKind.OFFLINE, detail, summary.canaries, True)]
        return []
    if (
        summary.targets >= limits.offline_min_targets
        and summary.network_failed_targets >= limits.offline_share * summary.targets
    ):
        detail = (
            f"{summary.network_failed_targets} of {summary.targets} targets failed at the network level "
            "(refused, timeout, DNS): taken as the crawler being offline"
        )
        return [RunProblem(ProblemKind.OFFLINE, detail, summary.network_failed_targets, True)]
    if summary.probes >= limits.offline_min_targets and summary.probes_failed == summary.probes:
        detail = f"every homepage probe failed ({summary.probes}): taken as the crawler being offline"
        return [RunProblem(ProblemKind.OFFLINE, detail, summary.probes, True)]
    return []


def _crawler_side(summary: RunSummary, outcome: CheckOutcome, kind: ProblemKind) -> list[RunProblem]:
    count = summary.crawler_outcomes.get(outcome.value, 0)
    if not count:
        return []
    detail = summary.crawler_examples.get(outcome.value) or outcome.value
    return [RunProblem(kind, detail[:300], count, False)]


def check_browser(summary: RunSummary, limits: HealthLimits) -> list[RunProblem]:
    """Pages that need Chromium were not rendered (the checks say no_browser)."""
    return _crawler_side(summary, CheckOutcome.NO_BROWSER, ProblemKind.NO_BROWSER)


def check_credentials(summary: RunSummary, limits: HealthLimits) -> list[RunProblem]:
    """Modes that need a login had none (the checks say no_credentials)."""
    return _crawler_side(summary, CheckOutcome.NO_CREDENTIALS, ProblemKind.NO_CREDENTIALS)


def check_previous_run(summary: RunSummary, limits: HealthLimits) -> list[RunProblem]:
    """The spider's previous run was killed: what it left (known posts, validators) may be partial."""
    if summary.previous_status == RunStatus.ABORTED:
        detail = f"the previous run ({summary.previous_run_id}) of this spider stopped without finishing"
        return [RunProblem(ProblemKind.AFTER_ABORT, detail, 1, True)]
    return []


HEALTH_CHECKS: dict[HealthCheck, Callable[[RunSummary, HealthLimits], list[RunProblem]]] = {
    HealthCheck.OUTPUT: check_output,
    HealthCheck.ERRORS: check_errors,
    HealthCheck.BLOCKED: check_blocked,
    HealthCheck.REACHABILITY: check_reachability,
    HealthCheck.BROWSER: check_browser,
    HealthCheck.CREDENTIALS: check_credentials,
    HealthCheck.PREVIOUS_RUN: check_previous_run,
}
assert set(HEALTH_CHECKS) == set(HealthCheck), "every health check needs its function"


def assess_run(summary: RunSummary, limits: HealthLimits | None = None) -> list[RunProblem]:
    """Every problem a finished run shows (what the monitors report, without Spidermon)."""
    limits = limits or HealthLimits()
    return [p for check in HEALTH_CHECKS.values() for p in check(summary, limits)]
