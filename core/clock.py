"""One time convention: ISO 8601 in China time (+08:00), so text order equals time order in SQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "CST")


def now() -> datetime:
    return datetime.now(CHINA_TZ)


def to_china(dt: datetime) -> datetime:
    """Aware datetime in +08:00; a naive one is taken to be China time already (as sources mean it)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=CHINA_TZ)
    return dt.astimezone(CHINA_TZ)


def iso(dt: datetime) -> str:
    return to_china(dt).isoformat(timespec="seconds")


def now_iso() -> str:
    return iso(now())


def parse_iso(text: str) -> datetime:
    """Parse an ISO timestamp written by this project (or any ISO 8601 with offset)."""
    return to_china(datetime.fromisoformat(text.replace("Z", "+00:00")))


def parse_as_of(text: str | None) -> datetime:
    """The run's "as of" time: a setting (date or datetime), else now."""
    if not text:
        return now()
    if len(text) == 10:
        text = f"{text}T23:59:59"
    return parse_iso(text)
