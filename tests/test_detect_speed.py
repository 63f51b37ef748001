"""Detection's SQL prefilter for closure notices must never hide a notice the classifier would find."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from detection.rules.notice import ACTION
from detection.service import NOTICE_SQL_WORDS


@settings(max_examples=300, deadline=None)
@given(st.from_regex(ACTION, fullmatch=True))
def test_every_closure_action_holds_a_word_sql_looks_for(action: str) -> None:
    assert any(word in action for word in NOTICE_SQL_WORDS), action
