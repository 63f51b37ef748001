"""Freshness decisions: stale (2 weeks), zombie (3 months), posting gaps — all against the run's as_of."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise


def months_before(as_of: datetime, months: int) -> datetime:
    """``as_of`` minus calendar months, the day clamped to the month's end (31 May - 3 months = 28/29 Feb);
    a negative count goes forward."""
    # Kept per (instant, time zone, months): every column and message of a run asks the same. The zone is
    # part of the key because equal instants in two zones fall on different calendar days.
    return _months_before(as_of, as_of.tzinfo, months)


@lru_cache(maxsize=256)
def _months_before(as_of: datetime, tz: object, months: int) -> datetime:
    year, month0 = divmod(as_of.year * 12 + as_of.month - 1 - months, 12)
    month = month0 + 1
    day = min(as_of.day, calendar.monthrange(year, month)[1])
    return as_of.replace(year=year, month=month, day=day)


def is_stale(last_post_at: datetime | None, as_of: datetime, days: int) -> bool:
    """No post in the ``days`` before as_of: a post exactly ``days`` old still counts as within them."""
    if last_post_at is None:
        return True
    return as_of - last_post_at > timedelta(days=days)


def is_zombie(last_post_at: datetime | None, as_of: datetime, months: int = 3) -> bool:
    """No post for more than ``months`` calendar months (exactly 3 months old is not yet a zombie)."""
    if last_post_at is None:
        return True
    return last_post_at < months_before(as_of, months)


@dataclass(frozen=True)
class GapStats:
    longest_days: float
    days_out_of_compliance: float
    gaps_over: int


def gap_stats(
    published: Iterable[datetime], *, as_of: datetime, window_start: datetime, max_gap_days: float
) -> GapStats:
    """Gaps between consecutive posts in [window_start, as_of], plus the trailing gap up to as_of.

    Days out of compliance sum, over every gap longer than allowed, the days beyond the allowance.
    """
    day = 86400.0
    return gap_stats_days(
        (t.timestamp() / day for t in published),
        as_of=as_of.timestamp() / day,
        window_start=window_start.timestamp() / day,
        max_gap_days=max_gap_days,
    )


def gap_stats_days(
    published: Iterable[float], *, as_of: float, window_start: float, max_gap_days: float
) -> GapStats:
    """gap_stats on times given as day numbers (Julian days from SQL): no datetime parsing at scale."""
    points = [*sorted(t for t in published if window_start <= t <= as_of), as_of]
    longest = out = 0.0
    over = 0
    for a, b in pairwise(points):
        gap = b - a
        longest = max(longest, gap)
        if gap > max_gap_days + 1e-9:
            over += 1
            out += gap - max_gap_days
    return GapStats(round(longest, 2), round(out, 2), over)


def combine_gaps(
    between: tuple[float, float, int, float] | None, as_of: float, max_gap_days: float
) -> GapStats:
    """Add the trailing gap (newest post to as_of) to SQL's aggregate of the gaps between posts.

    ``between`` = (longest, days over, gaps over, newest post) in day numbers, or None for no post.
    """
    if between is None:
        return GapStats(0.0, 0.0, 0)
    longest, out, over, newest = between
    trailing = as_of - newest
    if trailing > max_gap_days + 1e-9:
        over += 1
        out += trailing - max_gap_days
    return GapStats(round(max(longest, trailing), 2), round(out, 2), over)
