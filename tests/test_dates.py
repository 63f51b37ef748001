"""Every way sources write a time ends as ISO 8601 in +08:00."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.clock import iso, to_china
from core.dates import _rfc822_common, normalize_timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sat, 01 Jun 2024 10:00:00 +0800", "2024-06-01T10:00:00+08:00"),
        ("Fri, 31 May 2024 16:00:00 GMT", "2024-06-01T00:00:00+08:00"),
        ("2024-06-01T02:00:00Z", "2024-06-01T10:00:00+08:00"),
        ("2024-06-01T10:00:00+08:00", "2024-06-01T10:00:00+08:00"),
        ("2024-06-05 09:30", "2024-06-05T09:30:00+08:00"),  # naive: China time
        ("2024年6月5日", "2024-06-05T00:00:00+08:00"),
        ("2020年08月02日 14:05", "2020-08-02T14:05:00+08:00"),
        ("发布时间：2024/06/05", "2024-06-05T00:00:00+08:00"),
        ("1521515999", "2018-03-20T11:19:59+08:00"),  # WeChat `var ct` unix seconds
        (1521515999000, "2018-03-20T11:19:59+08:00"),  # milliseconds
        (datetime(2024, 6, 1, 2, 0, tzinfo=UTC), "2024-06-01T10:00:00+08:00"),
    ],
)
def test_normalize_timestamp(value: object, expected: str) -> None:
    assert normalize_timestamp(value) == expected


@pytest.mark.parametrize("value", [None, "", "昨天", "not a date", "2024-13-45"])
def test_unparseable(value: object) -> None:
    assert normalize_timestamp(value) is None


# The fast path for the RFC 822 form feeds write must read exactly what the email module reads.


@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30)),  # noqa: DTZ001 (naive: the zone is the other argument)
    st.sampled_from(["+0800", "+0000", "-0500", "+0530", "-0000", "GMT", "+1400", "-1200"]),
    st.booleans(),
)
def test_rfc822_fast_path_reads_what_the_email_module_reads(when: datetime, zone: str, weekday: bool) -> None:
    text = format_datetime(when.replace(microsecond=0), usegmt=False)[: -len("-0000")] + zone
    if not weekday:
        text = text[5:]
    expected = to_china(parsedate_to_datetime(text))
    fast = _rfc822_common(text)
    if fast is not None:
        assert fast == expected
        assert fast.utcoffset() == expected.utcoffset()
    assert normalize_timestamp(text) == iso(expected)


def test_rfc822_fast_path_leaves_what_it_does_not_know_to_the_general_parser() -> None:
    assert _rfc822_common("Mon, 29 Jun 2026 10:00:00 -0000") is None  # zone unknown
    assert _rfc822_common("Mon, 31 Feb 2026 10:00:00 +0800") is None  # no such day
    assert _rfc822_common("Mon, 29 Jun 26 10:00:00 +0800") is None  # two-digit year
    assert normalize_timestamp("Mon, 29 Jun 26 10:00:00 +0800") == "2026-06-29T10:00:00+08:00"
    assert normalize_timestamp("Mon, 29 Jun 2026 02:00:00 GMT") == "2026-06-29T10:00:00+08:00"
