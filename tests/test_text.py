"""Plain text from what sources send: the fast paths read exactly what the general ones read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.text import _fold_lines, as_text, clean_text, html_to_text, is_clean

# Every character that splits a line, folds as a space or is stripped from a line's edge, beside text.
WHITESPACE = [chr(i) for i in range(0x3001) if chr(i).isspace()] + ["\u202f", "\u205f"]
TEXTS = st.text(alphabet=st.sampled_from([*WHITESPACE, "a", "公", "<", "\ud800"]) | st.characters())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("临江发布", "临江发布"),
        ("a b\nc", "a b\nc"),
        ("a  b", "a b"),
        (" a", "a"),
        ("a\n\nb", "a\nb"),
        ("a \nb", "a\nb"),
        ("a\u3000b", "a b"),
        ("a\r\nb", "a\nb"),
        ("a\u2028b", "a\nb"),
        ("\u2003", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text(text: str | None, expected: str) -> None:
    assert clean_text(text) == expected


@given(TEXTS)
def test_clean_text_leaves_what_it_would_not_change_and_folds_the_rest(text: str) -> None:
    text = as_text(text)
    assert clean_text(text) == _fold_lines(text)
    if is_clean(text):
        assert _fold_lines(text) == text


@given(TEXTS)
def test_clean_text_is_clean(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


@given(TEXTS)
def test_text_read_twice_reads_as_once_when_it_holds_no_markup(text: str) -> None:
    once = html_to_text(text)
    if "<" not in once and "&" not in once:
        assert html_to_text(once) == once


_NOTICE_PIECES = ("关", "停", "關", "帳號", "注销", "公告", "(guān)", "（tíng）", "(", "）", " ", "\t")
_NOTICE_PIECES += ("\u3000", "\xa0", "\u200b", "\ufeff", "\x07", "\n", "。", "“", "”", "ab", "12")


@given(st.lists(st.sampled_from(_NOTICE_PIECES), max_size=12).map("".join) | st.text(max_size=80))
def test_normalizing_may_join_looks_once_and_means_what_it_says(text: str) -> None:
    # The one-look fast path (no invisible character, bracket or gap: only a traditional form can
    # join) must answer as the definition: an invisible character, or a text to_simplified changes.
    from core.text import is_plain_simplified
    from detection.rules.notice_claims import _INVISIBLE, normalizing_may_join

    defined = _INVISIBLE.search(text) is not None or not is_plain_simplified(text)
    assert normalizing_may_join(text) == defined
