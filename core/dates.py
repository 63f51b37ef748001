"""One parser for the times sources write: ISO, RFC 822, unix seconds, and Chinese dates in every form.

``parse_timestamp`` reads a value that is meant to be a whole timestamp (a feed's pubDate, an API
field). ``find_dates`` reads dates out of running text (a list cell, a notice), including month-day
dates whose year comes from a reference time and relative ones (刚刚, 3小时前, 昨天 10:05); which year a
month-day date falls in is decided in one place, ``resolve_year``, by the tense the caller knows.
Nothing here raises on bad input: what cannot be read is None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

from core.clock import CHINA_TZ, iso, to_china

Tense = Literal["past", "future", "nearest"]

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "〇零○Ｏ一二两三四五六七八九十"
_TIME = r"(?:\s*(?P<H>\d{1,2})\s*[:：时点]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2}))?)?"
FULL = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:年\s*(?P<m1>\d{1,2})\s*月\s*(?P<d1>\d{1,2})\s*[日号]?"
    r"|[-/.](?P<m2>\d{1,2})[-/.](?P<d2>\d{1,2})(?!\d))(?:[T\s]*" + _TIME[3:]
)
CN_FULL = re.compile(
    rf"(?P<y>[{_CN}]{{4}})\s*年\s*(?P<m>[{_CN}]{{1,3}})\s*月\s*(?P<d>[{_CN}]{{1,3}})\s*[日号]"
)
MONTH_DAY = re.compile(
    r"(?<![\d年/.-])(?:(?P<m1>\d{1,2})\s*月\s*(?P<d1>\d{1,2})\s*[日号]"
    r"|[\[［(（]\s*(?P<m2>\d{1,2})\s*[-/]\s*(?P<d2>\d{1,2})\s*[\]］)）]"
    r"|^\s*(?P<m3>\d{1,2})\s*[-/]\s*(?P<d3>\d{1,2})(?=\s|$))" + _TIME
)
CN_MONTH_DAY = re.compile(rf"(?<![{_CN}年])(?P<m>[{_CN}]{{1,3}})\s*月\s*(?P<d>[{_CN}]{{1,3}})\s*[日号]")
RELATIVE = re.compile(r"(?P<n>\d{1,4})\s*(?P<unit>秒|分钟|小时|天)前")
# The RFC 822 form nearly every feed writes (Mon, 29 Jun 2026 10:00:00 +0800), read without the email
# module's general parser; anything else in RFC 822 (two-digit years, zone names) still goes through it.
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
RFC822_COMMON = re.compile(
    r"(?:[A-Z][a-z]{2}, )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) (?:([+-])(\d\d)(\d\d)|GMT)"
)
_OFFSETS: dict[tuple[str, str, str], timezone] = {}


def _rfc822_common(text: str) -> datetime | None:
    m = RFC822_COMMON.fullmatch(text)
    if m is None or m[2] not in _MONTHS or (m[7] == "-" and m[8] == m[9] == "00"):
        return None  # -0000 is "zone unknown": the general parser's reading stands
    day, _, year, hour, minute, second, sign, oh, om = m.groups()
    tz = UTC
    if sign:
        tz = _OFFSETS.get((sign, oh, om))  # type: ignore[assignment]
        if tz is None:
            delta = timedelta(hours=int(oh), minutes=int(om))
            tz = _OFFSETS.setdefault((sign, oh, om), timezone(-delta if sign == "-" else delta))
    try:
        dt = datetime(int(year), _MONTHS[m[2]], int(day), int(hour), int(minute), int(second), tzinfo=tz)
        return dt.astimezone(CHINA_TZ)
    except (ValueError, OverflowError):
        return None


DAY_WORD = re.compile(r"(?P<word>今天|昨天|前天)" + _TIME)
JUST_NOW = re.compile(r"刚刚")


@dataclass(frozen=True)
class DateMatch:
    start: int
    end: int
    value: datetime
    form: str  # explicit / chinese / month_day / relative


def cn_number(text: str) -> int | None:
    """二〇二六 → 2026, 十二 → 12, 二十一 → 21, 31 → 31; None when it is not a number."""
    text = text.strip()
    if text.isdigit() and text.isascii():
        return int(text)
    if not text or any(c not in _CN_DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    head, _, tail = text.partition("十")
    if "十" in tail or len(head) > 1 or len(tail) > 1:
        return None
    return (_CN_DIGITS[head] if head else 1) * 10 + (_CN_DIGITS[tail] if tail else 0)


def safe_datetime(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime | None:
    try:
        return datetime(y, m, d, hh, mm, ss, tzinfo=CHINA_TZ)
    except (ValueError, OverflowError):
        return None


def resolve_year(month: int, day: int, ref: datetime | date, tense: Tense) -> date | None:
    """The year of a month-day date written relative to ``ref``.

    past: the latest such day not after ``ref`` (a list cell, 已于…起); future: the first such day not
    before it (将于…起); nearest: whichever of last, this and next year is closest.
    """
    ref_day = ref.date() if isinstance(ref, datetime) else ref
    candidates = []
    for year in (ref_day.year - 1, ref_day.year, ref_day.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        return None
    if tense == "past":
        older = [c for c in candidates if c <= ref_day]
        return max(older) if older else None
    if tense == "future":
        newer = [c for c in candidates if c >= ref_day]
        return min(newer) if newer else None
    return min(candidates, key=lambda c: abs((c - ref_day).days))


def _time_of(m: re.Match[str]) -> tuple[int, int, int]:
    def num(key: str) -> int:
        value = m.groupdict().get(key)
        return int(value) if value else 0

    return num("H"), num("M"), num("S")


def find_dates(text: str | None, *, ref: datetime | None = None, tense: Tense = "past") -> list[DateMatch]:
    """Every date in ``text``, in order of position. Month-day and relative dates need ``ref``."""
    if not text:
        return []
    text = str(text)[:20000]
    found: list[DateMatch] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match[str], value: datetime | None, form: str) -> None:
        if value is None or any(a < m.end() and m.start() < b for a, b in taken):
            return
        taken.append((m.start(), m.end()))
        found.append(DateMatch(m.start(), m.end(), value, form))

    for m in FULL.finditer(text):
        month, day = m["m1"] or m["m2"], m["d1"] or m["d2"]
        add(m, safe_datetime(int(m["y"]), int(month), int(day), *_time_of(m)), "explicit")
    for m in CN_FULL.finditer(text):
        y, mo, d = cn_number(m["y"]), cn_number(m["m"]), cn_number(m["d"])
        add(m, safe_datetime(y, mo, d) if None not in (y, mo, d) else None, "chinese")  # type: ignore[arg-type]
    if ref is not None:
        ref = to_china(ref)
        for m in MONTH_DAY.finditer(text):
            month = int(m["m1"] or m["m2"] or m["m3"])
            day = int(m["d1"] or m["d2"] or m["d3"])
            when = resolve_year(month, day, ref, tense)
            add(
                m, safe_datetime(when.year, when.month, when.day, *_time_of(m)) if when else None, "month_day"
            )
        for m in CN_MONTH_DAY.finditer(text):
            mo, d = cn_number(m["m"]), cn_number(m["d"])
            when = resolve_year(mo, d, ref, tense) if mo and d else None
            add(m, safe_datetime(when.year, when.month, when.day) if when else None, "month_day")
        for m in RELATIVE.finditer(text):
            unit = {"秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days"}[m["unit"]]
            try:
                add(m, ref - timedelta(**{unit: int(m["n"])}), "relative")
            except OverflowError:
                continue
        for m in DAY_WORD.finditer(text):
            hh, mm, ss = _time_of(m)
            day_ = ref - timedelta(days={"今天": 0, "昨天": 1, "前天": 2}[m["word"]])
            add(m, safe_datetime(day_.year, day_.month, day_.day, hh, mm, ss), "relative")
        for m in JUST_NOW.finditer(text):
            add(m, ref, "relative")
    found.sort(key=lambda d: d.start)
    return found


def strip_dates(text: str) -> str:
    """``text`` without the full dates and bracketed month-days in it (a title with its date cut out)."""
    text = CN_FULL.sub("", FULL.sub("", text))
    return re.sub(r"[\[［(（]\s*\d{1,2}\s*[-/]\s*\d{1,2}\s*[\]］)）]", "", text)


def parse_cn_date(text: str | None, *, ref: datetime | None = None, tense: Tense = "past") -> datetime | None:
    """The first date in ``text`` (see find_dates), or None."""
    dates = find_dates(text, ref=ref, tense=tense)
    return dates[0].value if dates else None


def parse_timestamp(value: object, *, ref: datetime | None = None) -> datetime | None:
    """A datetime in +08:00 from a datetime, unix seconds, ISO 8601, RFC 822 or a Chinese date.

    Returns None for anything unrecognisable or out of range (the caller decides what that means).
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return to_china(value)
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
            seconds = float(value)  # type: ignore[arg-type]
            if seconds > 1e12:  # milliseconds
                seconds /= 1000
            return datetime.fromtimestamp(seconds, CHINA_TZ) if 0 < seconds < 1e11 else None
    except (ValueError, OverflowError, OSError):
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()[:200]
    rfc822 = text[3:4] == "," and text[:3].isalpha()  # feeds: Mon, 29 Jun 2026 10:00:00 +0800
    if rfc822 and (common := _rfc822_common(text)) is not None:
        return common
    try:
        return to_china(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        pass
    if not rfc822:
        try:
            # Weibo's API form: Sat Jun 01 10:00:00 +0800 2024
            return to_china(datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y"))
        except ValueError:
            pass
    if rfc822 or re.search(r"\d{1,2} [A-Za-z]{3} \d{4}", text):
        try:
            return to_china(parsedate_to_datetime(text))
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return parse_cn_date(text, ref=ref)


def normalize_timestamp(value: object, *, ref: datetime | None = None) -> str | None:
    dt = parse_timestamp(value, ref=ref)
    try:
        return iso(dt) if dt else None
    except (ValueError, OverflowError):
        return None
