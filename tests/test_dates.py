"""Every way sources write a time ends as ISO 8601 in +08:00."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.dates import normalize_timestamp


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
