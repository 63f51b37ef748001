"""The closure detector on the real development set (../shared/real/closure_notices_dev.jsonl).

Each line is a real text (a notice, a news report quoting or paraphrasing one, a platform status text, or
a look-alike) with its label. The text is read as the pipeline reads a post: title and text, the page's
``context`` (text from the same page) after it, dated by ``announce_date`` when the page gives one. An
effective date is judged where the set gives one; a migration target where the set names one (not a
description in brackets such as "(new account; see transferTargetLink …)").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from detection.rules.notice import classify_notice, describe_notice, name_key

DEV_SET = Path(__file__).resolve().parents[2] / "shared" / "real" / "closure_notices_dev.jsonl"
UNDATED = date(2024, 6, 1)  # the posting date assumed for a text whose page gives none
pytestmark = pytest.mark.skipif(not DEV_SET.exists(), reason=f"real development set absent: {DEV_SET}")


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    dates: list[bool] = field(default_factory=list)
    targets: list[bool] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def line(self, label: str) -> str:
        return (
            f"{label}: precision {self.precision:.3f}, recall {self.recall:.3f} "
            f"(tp={self.tp} fp={self.fp} fn={self.fn}), effective date {sum(self.dates)}/{len(self.dates)}, "
            f"migration target {sum(self.targets)}/{len(self.targets)}"
        )


def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(*, with_context: bool) -> Score:
    score = Score()
    for row in rows():
        posted = date.fromisoformat(row["announce_date"]) if row.get("announce_date") else UNDATED
        text = row["text"] + (f"\n{row['context']}" if with_context and row.get("context") else "")
        answer = describe_notice(classify_notice(row.get("title"), text, posted), as_of=posted)
        closure = row["label"] == "closure"
        if answer["closure"] and not closure:
            score.fp += 1
            score.misses.append(f"false alarm {row['id']}: {row['text'][:60]}")
        elif closure and not answer["closure"]:
            score.fn += 1
            score.misses.append(f"missed {row['id']}: {row['text'][:60]}")
        elif closure:
            score.tp += 1
            if row.get("effective_date"):
                score.dates.append(answer["effective_date"] == row["effective_date"])
                if not score.dates[-1]:
                    score.misses.append(
                        f"date {row['id']}: {answer['effective_date']} != {row['effective_date']}"
                    )
            target = row.get("migration_target")
            if target and not target.startswith("("):
                found = [name_key(t["name"]) for t in answer["migration_targets"]]
                score.targets.append(name_key(target) in found)
                if not score.targets[-1]:
                    score.misses.append(f"target {row['id']}: {found} lacks {target}")
    return score


def test_development_set_figures() -> None:
    page = evaluate(with_context=True)
    alone = evaluate(with_context=False)
    print(page.line("real dev set, text + page context"))
    print(alone.line("real dev set, text alone"))
    print("\n".join(page.misses))
    assert page.precision >= 0.95
    assert page.recall >= 0.90
    assert sum(page.dates) >= 0.9 * len(page.dates)
    assert sum(page.targets) >= 0.8 * len(page.targets)
    # the context only adds successors named elsewhere on the page: the verdicts are the same
    assert (alone.tp, alone.fp, alone.fn) == (page.tp, page.fp, page.fn)


def test_platform_status_texts_say_their_state() -> None:
    status = [r for r in rows() if r.get("quote_type") == "platform_status_message"]
    assert status
    for row in status:
        answer = describe_notice(classify_notice(None, row["text"], UNDATED), as_of=UNDATED)
        if row["label"] == "closure":
            assert answer["status"] in ("closed", "closing", "migrated"), row["text"]
        else:
            assert not answer["closure"], row["text"]
