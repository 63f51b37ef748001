"""Is a run evidence? The crawler's own problems (offline, no browser, no credentials) seen in its checks."""

from __future__ import annotations

from core.enums import CheckOutcome, ProblemKind
from core.items import RunProblem, RunSummary

CRAWLER_PROBLEMS = {
    CheckOutcome.NO_BROWSER: ProblemKind.NO_BROWSER,
    CheckOutcome.NO_CREDENTIALS: ProblemKind.NO_CREDENTIALS,
}


def assess_run(summary: RunSummary, *, offline_share: float, offline_min_targets: int) -> list[RunProblem]:
    """The problems a finished run shows. Offline blocks trust in the whole run: either every canary
    failed, or (no canary answered either way) nearly every target failed at the network level. A missing
    browser or credentials concerns only the fetches that needed them; those checks say so themselves."""
    problems: list[RunProblem] = []
    if summary.canaries and summary.canaries_failed == summary.canaries:
        problems.append(
            RunProblem(
                ProblemKind.OFFLINE,
                f"every canary failed ({summary.canaries}): the crawler could not reach the internet",
                summary.canaries,
                True,
            )
        )
    elif (
        not summary.canaries
        and summary.targets >= offline_min_targets
        and summary.network_failed_targets >= offline_share * summary.targets
    ):
        problems.append(
            RunProblem(
                ProblemKind.OFFLINE,
                f"{summary.network_failed_targets} of {summary.targets} targets failed at the network level "
                "(refused, timeout, DNS): taken as the crawler being offline",
                summary.network_failed_targets,
                True,
            )
        )
    for outcome, kind in CRAWLER_PROBLEMS.items():
        count = summary.crawler_outcomes.get(outcome.value, 0)
        if count:
            detail = summary.crawler_examples.get(outcome.value) or outcome.value
            problems.append(RunProblem(kind, detail[:300], count, False))
    return problems
