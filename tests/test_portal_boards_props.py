"""Property tests for the board parsers: any list rows and any message page parse without raising; bad
input loses a field, never the page."""

from __future__ import annotations

from datetime import datetime

import pytest
from parsel import Selector

from core.clock import CHINA_TZ
from spiders.portal import build_message, parse_message_detail, parse_message_list

AS_OF = datetime(2024, 6, 30, 12, 0, tzinfo=CHINA_TZ)


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

CELL = st.sampled_from(
    ["已回复", "未回复", "2024-05-02", "咨询", "市城管局", "", "：", "答复时间：", "<b>x</b>"]
)


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(
    st.lists(st.lists(CELL, min_size=1, max_size=5), min_size=1, max_size=6), st.text(max_size=40)
)
def test_any_list_rows_parse_without_raising(rows: list[list[str]], noise: str) -> None:
    lis = "".join(
        f'<li><a href="/d/{n}.html">标题{n}</a>' + "".join(f"<span>{c}</span>" for c in cells) + "</li>"
        for n, cells in enumerate(rows)
    )
    sel = Selector(text=f"<html><body><p>{noise}</p><ul>{lis}</ul></body></html>")
    for row in parse_message_list(sel, "http://x.gov.cn/", AS_OF):
        assert row.url.startswith("http://x.gov.cn/d/")
        build_message(
            row, {}, target_id=1, board_url="http://x.gov.cn/", board_kind="consultation", as_of=AS_OF
        )


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(
    st.lists(
        st.sampled_from(["答复时间", "：", "状态", "已回复", "2024-01-05", "<p>", "</p>", "<td>", " "]),
        max_size=20,
    )
)
def test_any_detail_page_parses_without_raising(parts: list[str]) -> None:
    detail = parse_message_detail(Selector(text=f"<html><body>{''.join(parts)}</body></html>"))
    assert set(detail) <= {
        "message_id",
        "asked_at",
        "answered_at",
        "status",
        "category",
        "unit",
        "reply_text",
        "title",
    }
