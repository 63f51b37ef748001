"""The classifier's first gate (PREFILTER_WORDS, which detection also applies before reading a post)
never hides a closure verb the classifier reads."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from detection.rules.notice import PREFILTER_WORDS
from detection.rules.notice_words import ACTION


@settings(max_examples=300, deadline=None)
@given(st.from_regex(ACTION, fullmatch=True))
def test_every_closure_action_holds_a_word_sql_looks_for(action: str) -> None:
    assert any(word in action for word in PREFILTER_WORDS), action
