"""Turn the many ways sources write a time into one ISO 8601 string in China time (+08:00)."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime

from core.clock import CHINA_TZ, iso, to_china

_CN_DATE = re.compile(
    r"(?P<y>\d{4})\s*[年/.-]\s*(?P<m>\d{1,2})\s*[月/.-]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?P<H>\d{1,2})[:：时](?P<M>\d{1,2})(?:[:：分](?P<S>\d{1,2}))?)?"
)


def parse_timestamp(value: object) -> datetime | None:
    """A datetime in +08:00 from a datetime, unix seconds, ISO 8601, RFC 822 or a Chinese date.

    Returns None for anything unrecognisable (the caller decides whether that is an error).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_china(value)
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        seconds = float(value)  # type: ignore[arg-type]
        if seconds > 1e12:  # milliseconds
            seconds /= 1000
        return datetime.fromtimestamp(seconds, CHINA_TZ) if seconds > 0 else None
    text = str(value).strip()
    try:
        return to_china(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    if re.match(r"^[A-Za-z]{3},", text) or re.search(r"\d{1,2} [A-Za-z]{3} \d{4}", text):
        try:
            return to_china(parsedate_to_datetime(text))
        except (TypeError, ValueError, IndexError):
            pass
    m = _CN_DATE.search(text)
    if m:
        try:
            return datetime(
                int(m["y"]),
                int(m["m"]),
                int(m["d"]),
                int(m["H"] or 0),
                int(m["M"] or 0),
                int(m["S"] or 0),
                tzinfo=CHINA_TZ,
            )
        except ValueError:
            return None
    return None


def normalize_timestamp(value: object) -> str | None:
    dt = parse_timestamp(value)
    return iso(dt) if dt else None
