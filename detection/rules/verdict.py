"""The verdict for one target from what one evaluation found: 合格 / 不合格 / 无法检查, and the score.

The official logic: any veto ⇒ 不合格; otherwise full marks minus the deductions (each rule capped),
and below the pass mark ⇒ 不合格 (both in the rules file). No pass without evidence: a target nothing
could be read of is 无法检查 with the reason (unless what was read — a site that does not open — is
itself a veto).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from core.enums import Coverage, Severity, Verdict
from detection.rules.result import Finding


@dataclass(frozen=True)
class VerdictRow:
    verdict: Verdict
    score: float | None
    coverage: Coverage
    reason: str | None
    vetoes: int = 0
    veto_labels: str | None = None
    deductions: float = 0.0
    infos: int = 0
    breakdown: dict[str, float] = field(default_factory=dict)


def decide_verdict(
    findings: Sequence[Finding],
    *,
    coverage: Coverage,
    reason: str | None,
    rules: Mapping[str, Mapping[str, object]],
    scoring: Mapping[str, float],
) -> VerdictRow:
    """``rules``: the resolved settings of the target's profile (severity, label, cap per rule);
    ``scoring``: full marks and the pass mark, from the rules file."""
    vetoes = [f for f in findings if rules[f.rule]["severity"] == Severity.VETO]
    infos = sum(1 for f in findings if rules[f.rule]["severity"] == Severity.INFO)
    raw: dict[str, float] = defaultdict(float)
    for f in findings:
        if rules[f.rule]["severity"] == Severity.DEDUCTION:
            raw[f.rule] += float(f.points or 0)
    breakdown = {}
    for rule, points in sorted(raw.items()):
        cap = rules[rule].get("cap")
        breakdown[rule] = round(min(points, float(cap)) if cap is not None else points, 2)  # type: ignore[arg-type]
    deductions = round(sum(breakdown.values()), 2)
    labels = "，".join(sorted({str(rules[f.rule]["label"]) for f in vetoes})) or None
    common = {
        "coverage": coverage,
        "reason": reason,
        "vetoes": len(vetoes),
        "veto_labels": labels,
        "deductions": deductions,
        "infos": infos,
        "breakdown": breakdown,
    }
    if vetoes:
        return VerdictRow(Verdict.UNQUALIFIED, None, **common)  # type: ignore[arg-type]
    if coverage in (Coverage.UNREAD, Coverage.NEVER):
        return VerdictRow(Verdict.UNCHECKED, None, **common)  # type: ignore[arg-type]
    score = round(scoring["full_marks"] - deductions, 2)
    verdict = Verdict.UNQUALIFIED if score < scoring["pass_mark"] else Verdict.QUALIFIED
    return VerdictRow(verdict, score, **common)  # type: ignore[arg-type]
