"""The end-of-run summary a person reads: targets checked and unreadable, findings new and resolved by
severity, crawler health, alerts. Pure: formats what ``db.runs.report_runs`` gathered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.enums import Severity, Verdict

NEW_EVENTS = ("opened", "reopened")


def _by_severity(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    parts = [f"{s.value} {counts[s.value]}" for s in Severity if counts.get(s.value)]
    return f"{total} ({', '.join(parts)})" if parts else str(total)


def format_summary(
    report: Mapping[str, Any], *, seconds: float | None = None, alerts: str | None = None
) -> str:
    runs = report["runs"]
    crawls = [r for r in runs if r["spider"] != "detect"]
    names = ", ".join(f"{r['spider']} (run {r['id']})" for r in crawls) or "detect"
    as_of = next((r["as_of"] for r in runs if r["as_of"]), None)
    head = f"运行摘要 run summary · {names}"
    head += f" · as of {as_of}" if as_of else ""
    head += f" · {seconds:.1f} s" if seconds is not None else ""
    events = report["events"]
    new: dict[str, int] = {}
    for event in NEW_EVENTS:
        for severity, n in events.get(event, {}).items():
            new[severity] = new.get(severity, 0) + n
    findings = f"new {_by_severity(new)} · resolved {_by_severity(events.get('resolved', {}))}"
    if report["held"]:
        findings += f" · held {report['held']} (crawler-side problem: verdict kept)"
    verdicts = ", ".join(
        f"{v.value} {report['verdicts'][v.value]}" for v in Verdict if report["verdicts"].get(v.value)
    )
    unread = report["verdicts"].get(Verdict.UNCHECKED.value, 0)
    verdicts = f"{verdicts} ({unread} unreadable)" if verdicts else "no verdict yet"
    lines = [
        head,
        f"  目标 targets   {report['targets']} checked · {verdicts}",
        f"  问题 findings  {findings}",
    ]
    failures = report["failures"]
    if not report["monitored_runs"]:
        lines.append("  健康 health    not assessed")
    elif not failures:
        passed = f"{report['monitors']} monitors passed over {report['monitored_runs']} run(s)"
        lines.append(f"  健康 health    ok: {passed}")
    else:
        untrusted = {r["id"] for r in runs if not r["trusted"]}
        lines.append(f"  健康 health    FAILED: {len(failures)} of {report['monitors']} monitors")
        for f in failures:
            scope = "run not trusted" if f["run_id"] in untrusted else "affected targets held"
            lines.append(f"    run {f['run_id']} {f['spider']} · {f['monitor']}: {f['detail']} ({scope})")
    for r in runs:
        if r["status"] != "finished":
            lines.append(f"    run {r['id']} {r['spider']} did not finish ({r['status']})")
    if alerts is not None:
        lines.append(f"  告警 alerts    {alerts}")
    return "\n".join(lines)
