"""The detector's vocabulary against its SQL prefilter, and the classifier against any text (Hypothesis)."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opencc import OpenCC

from core.clock import CHINA_TZ
from core.text import MIRROR_WORDS, is_plain_simplified, to_simplified
from detection.rules import notice_words as w
from detection.rules.notice import (
    PREFILTER_WORDS,
    Notice,
    classify_notice,
    could_be_notice,
    has_prefilter_word,
    normalize_notice_text,
    notice_from_json,
    notice_to_json,
)

# Every script a post can arrive in: simplified, traditional, Taiwan (with its phrases, as mirrors
# machine-convert them: 注销 → 登出), Hong Kong.
SCRIPTS = [OpenCC(c) for c in ("s2t", "s2tw", "s2twp", "s2hk")]
VOCABULARY = (*w.ACTIONS, *w.STATUS_WORDS)


def forms(word: str) -> set[str]:
    return {word, *(cc.convert(word) for cc in SCRIPTS)}


@pytest.mark.parametrize("word", VOCABULARY)
def test_every_action_holds_a_prefilter_word_in_every_script(word: str) -> None:
    for form in forms(word):
        assert has_prefilter_word(form), f"{word!r} as {form!r} holds no PREFILTER_WORDS entry"


def test_the_split_stop_holds_a_prefilter_word() -> None:
    # 停止在本平台发布信息 / 不再通过本平台发布: the pattern begins with 停止 or 不再
    assert all(has_prefilter_word(head) for head in re.findall(r"停止|不再", w.SPLIT_STOP))


def test_mirror_swaps_are_read_back_and_prefiltered() -> None:
    # A mirror writes 登出 for 注销 in traditional text: read back as 注销, and let through by the prefilter.
    for swapped, original in MIRROR_WORDS.items():
        raw = "帳號" + SCRIPTS[1].convert(swapped)
        assert original in normalize_notice_text(raw)
        assert has_prefilter_word(raw) or not any(original in v for v in VOCABULARY), raw


def test_prefilter_words_are_not_redundant_noise() -> None:
    assert len(set(PREFILTER_WORDS)) == len(PREFILTER_WORDS)


def test_a_text_without_prefilter_word_is_never_a_notice() -> None:
    # the early exit: the classifier's gate (detection's too) rejects a text holding none of the words
    assert classify_notice("公告", "本公众号自2024年6月1日起暂告一段落。", date(2024, 6, 1)) is None


# Pieces of real notice grammar, shuffled with noise: the classifier must answer, never raise.
PIECES = st.sampled_from(
    [
        "本公众号",
        "本号",
        "此帐号",
        "该账号",
        "“青山发布”",
        "‘河口教育’",
        "「雲川縣科協」",
        "微信公众号",
        "网站",
        "政务新媒体",
        "将于",
        "已于",
        "自",
        "即日起",
        "7月1日",
        "二〇二四年六月一日",
        "2024年13月45日",
        "30天后",
        "起",
        "停止更新",
        "停更",
        "关停注销",
        "注销",
        "登出",
        "并入",
        "迁移至",
        "下架",
        "已自主注销",
        "无法查看",
        "，",
        "。",
        "、",
        "请关注",
        "登录",
        "（http://x.gov.cn/）",
        "等3个",
        "暂时",
        "不再",
        "的公告",
        "《",
        "》",
        "“",
        "”",
        "(hào)",
        " ",
        "\n",
        "停止在本平台发布信息",
        "处于帐号迁移流程中",
    ]
)
TEXTS = st.one_of(
    st.text(max_size=300), st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=40).map("".join)
)
WHEN = st.one_of(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    st.datetimes(
        min_value=datetime(1990, 1, 1),  # noqa: DTZ001 (Hypothesis bounds are naive; the zone is added)
        max_value=datetime(2090, 12, 31),  # noqa: DTZ001
        timezones=st.just(CHINA_TZ),
    ),
)


@settings(max_examples=400, deadline=None)
@given(title=st.one_of(st.none(), TEXTS), text=st.one_of(st.none(), TEXTS), posted=WHEN)
def test_classifier_never_raises_and_round_trips(title: str | None, text: str | None, posted: date) -> None:
    n = classify_notice(title, text, posted)
    assert n is None or isinstance(n, Notice)
    if n is not None:
        assert has_prefilter_word(f"{title or ''}{text or ''}")
        assert notice_from_json(notice_to_json(n)) == n
        assert n.state_on(date(2050, 1, 1)) in ("closed", "closing", "migrated")


# The gate normalises only texts whose words normalising could change (script, invisible characters,
# inline pinyin, spaces between characters): it must let through every text the full normalisation would.
GATE_PIECES = st.one_of(
    PIECES,
    st.sampled_from(["關", "停", "註", "銷", "\u200b", "\u3000", "(guān)", "遷", "移", "併", "入", "轉"]),
    st.text(max_size=3),
)


def normalised_gate(title: str, text: str) -> bool:
    """The gate as it was before the shortcut: always normalise."""
    raw = f"{title}\n{text}"
    if not has_prefilter_word(raw):
        return False
    doc = normalize_notice_text(raw)
    return w.ACTION.search(doc) is not None or any(s in doc for s in w.STATUS_WORDS)


@settings(max_examples=400, deadline=None)
@given(st.lists(GATE_PIECES, max_size=30).map("".join), st.lists(GATE_PIECES, max_size=6).map("".join))
def test_the_gate_lets_through_whatever_normalising_would(text: str, title: str) -> None:
    if normalised_gate(title, text):
        assert could_be_notice(title, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(GATE_PIECES, max_size=30).map("".join))
def test_plain_simplified_text_is_what_to_simplified_leaves_alone(text: str) -> None:
    if is_plain_simplified(text):
        assert to_simplified(text) == text
