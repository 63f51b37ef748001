"""Each account's facts over its posts (aggregates and update gaps), read from the posts only where they
may differ from what the last run read.

A target's kept facts (m150 ``detect_facts``) are reused when all of these hold:
- its posts did not change since (no mark in ``detect_dirty``: triggers and the bulk writer set it,
  ``forget_dirty`` drops the facts of every marked target before anything is read);
- they were computed with the same parameters (windows, thresholds, meeting words, the gap profiles);
- no post of the target lies between any window edge as it was then and as it is now (the check time
  itself, the content window, the year, the month, each gap window): a post that entered or left a
  window would change a count.
Every other account is read again, in one query per fact over those accounts only. ``full`` reads every
account again (``scrapy detect --full``). Reused facts are the stored JSON of the very values a query
returned, so a judgement from them equals one from a fresh read (tests/test_post_facts.py).

The near-duplicate clusters (m150 ``detect_cache``) are reused when the run found no post of its
targets marked and hashed none, and the window's (post, target, SimHash) rows and the distance have the
fingerprint kept with them: their count, the sums SQLite takes of their post ids, accounts and SimHash
halves, and one sum of a product mixing all three per row (``window_checksum``). Any one row that
entered, left or changed moves a sum, and so do two rows trading SimHashes or accounts.
"""

from __future__ import annotations

import json
from array import array
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from core.clock import iso, parse_iso
from db import detection as q
from db import facts as kept

# Bumped whenever what a kept fact holds, or how it is computed, changes: older kept facts then no
# longer match any run's parameters.
VERSION = 1
GapKey = tuple[float, float]
Gaps = dict[GapKey, dict[int, tuple[float, float, int, float]]]
# target -> (near-duplicate posts, posts in the window, the other targets sharing them, ascending)
Clusters = dict[int, tuple[int, int, Sequence[int]]]
Hashes = Sequence[tuple[int, int, int]]  # (post rowid, target, SimHash) of the window
CLUSTERS_KEY = "duplicates"
# Reading the facts of more than this share of the accounts, a run reads them all in one pass.
WHOLE_FROM = 0.5


@dataclass(frozen=True)
class FactWindows:
    """The windows the facts are counted over, each as days before the check time."""

    content_days: float
    year_days: float
    max_text_length: int
    meeting_words: tuple[str, ...]
    gap_keys: tuple[GapKey, ...]  # (window days, max gap days), sorted
    month_days: float = 30  # "a month" for the ≥1 original a month profile: the last 30 days

    def params(self) -> str:
        return json.dumps(
            [
                VERSION,
                self.content_days,
                self.year_days,
                self.month_days,
                self.max_text_length,
                list(self.meeting_words),
                [list(k) for k in self.gap_keys],
            ],
            ensure_ascii=False,
        )

    def edges(self, as_of: datetime) -> dict[str, str]:
        """Every bound a post is compared with, as the queries compare it (ISO text)."""
        out = {
            "as_of": iso(as_of),
            "content": iso(as_of - timedelta(days=self.content_days)),
            "year": iso(as_of - timedelta(days=self.year_days)),
            "month": iso(as_of - timedelta(days=self.month_days)),
        }
        for window, _ in self.gap_keys:
            out[f"gaps {window}"] = iso(as_of - timedelta(days=window))
        return out


@dataclass
class PostFacts:
    aggregates: dict[int, dict[str, Any]]
    gaps: Gaps
    read: int  # accounts whose facts were read from their posts this run
    reused: int  # accounts whose kept facts were used


Submit = Callable[..., Callable[[], Any]]


class PostFactsRead:
    """Decide which accounts to read (on the main connection, before judging), submit their queries
    to ``submit`` (detection's read-aside threads), and ``result()`` the merged facts, keeping the
    new ones."""

    def __init__(
        self,
        database: Database,
        submit: Submit,
        windows: FactWindows,
        as_of: datetime,
        accounts: Sequence[int],
        scope: Sequence[int] | None,
        full: bool = False,
    ) -> None:
        self.database = database
        self.windows = windows
        self.params = windows.params()
        self.as_of = iso(as_of)
        edges = windows.edges(as_of)
        self.marked = kept.forget_dirty(database, scope)  # targets whose posts changed since
        rows = {} if full else kept.kept_facts(database, scope)
        wanted = set(accounts)
        usable = {t: r for t, r in rows.items() if t in wanted and r[1] == self.params}
        moved = _moved(database, usable, windows, edges)
        self.reused = {t: r for t, r in usable.items() if t not in moved}
        todo = [t for t in accounts if t not in self.reused]
        whole = len(todo) > WHOLE_FROM * len(accounts)
        if whole:  # one pass over every account costs less than one per account: nothing is reused
            self.reused = {}
        ids = scope if whole else todo
        self.read = wanted if whole else set(todo)
        self.aggregates_read = (
            submit(
                q.post_aggregates,
                as_of=edges["as_of"],
                window_start=edges["content"],
                year_start=edges["year"],
                month_start=edges["month"],
                max_text_length=windows.max_text_length,
                meeting_words=windows.meeting_words,
                target_ids=ids,
            )
            if todo
            else dict
        )
        self.gaps_read = {
            (window, max_gap): (
                submit(
                    q.gap_aggregates,
                    since=edges[f"gaps {window}"],
                    as_of=edges["as_of"],
                    max_gap_days=max_gap,
                    target_ids=ids,
                )
                if todo
                else dict
            )
            for window, max_gap in windows.gap_keys
        }

    def result(self) -> PostFacts:
        fresh: dict[int, dict[str, Any]] = self.aggregates_read()
        fresh_gaps: Gaps = {key: read() for key, read in self.gaps_read.items()}
        keys = self.windows.gap_keys
        aggregates: dict[int, dict[str, Any]] = {}
        gaps: Gaps = {key: {} for key in keys}
        for tid, (_, _, kept_agg, kept_gaps) in self.reused.items():
            if kept_agg is not None:
                aggregates[tid] = json.loads(kept_agg)
            for key, value in zip(keys, json.loads(kept_gaps), strict=True):
                if value is not None:
                    gaps[key][tid] = tuple(value)
        rows = []
        for tid in self.read:
            agg = fresh.get(tid)
            if agg is not None:
                aggregates[tid] = agg
            own = [fresh_gaps[key].get(tid) for key in keys]
            for key, value in zip(keys, own, strict=True):
                if value is not None:
                    gaps[key][tid] = value
            rows.append(
                (
                    tid,
                    self.as_of,
                    self.params,
                    None if agg is None else json.dumps(agg, ensure_ascii=False),
                    json.dumps(own),
                )
            )
        kept.keep_facts(self.database, rows)
        return PostFacts(aggregates, gaps, read=len(self.read), reused=len(self.reused))


def _moved(
    database: Database,
    usable: dict[int, tuple[str, str, str | None, str]],
    windows: FactWindows,
    edges: dict[str, str],
) -> set[int]:
    """Accounts of ``usable`` with a post between a window edge of their kept facts' check time and
    the same edge now: a post that entered or left a window (the queries count ``published_at >=``
    each lower edge and ``<=`` the check time)."""
    by_as_of: dict[str, set[int]] = defaultdict(set)
    for tid, row in usable.items():
        by_as_of[row[0]].add(tid)
    moved: set[int] = set()
    for then, tids in by_as_of.items():
        if then == edges["as_of"]:
            continue
        old = windows.edges(parse_iso(then))
        spans = [(min(old[k], edges[k]), max(old[k], edges[k]), k == "as_of") for k in edges]
        moved |= tids & kept.targets_with_posts_between(database, spans)
    return moved


def reuse_clusters(
    database: Database,
    since: str,
    as_of: str,
    max_hamming: int,
    compute: Callable[[Hashes, int], Clusters],
    *,
    changed: bool,
    full: bool = False,
) -> tuple[Clusters, bool]:
    """The clusters of the window's SimHashes and whether they are the kept ones; computed ones are
    kept. ``changed``: the run found posts marked or hashed some (the kept ones are not reused)."""
    with kept.snapshot(database):  # the fingerprint names the rows the clusters are computed from
        fingerprint = _fingerprint(q.window_checksum(database, since=since, as_of=as_of), max_hamming)
        packed = None if full or changed else kept.cached(database, CLUSTERS_KEY, fingerprint)
        hashes = q.simhashes(database, since=since, as_of=as_of) if packed is None else ()
    if packed is not None:
        return _unpack_clusters(packed), True
    clusters = compute(hashes, max_hamming)
    kept.cache(database, CLUSTERS_KEY, fingerprint, _pack_clusters(clusters))
    return clusters, False


def _fingerprint(checksum: tuple[int, ...], max_hamming: int) -> str:
    return f"v2 {max_hamming} " + " ".join(map(str, checksum))


def _pack_clusters(clusters: Clusters) -> bytes:
    """As 64-bit integers: target, near-duplicate posts, posts, peers, then the peers."""
    flat = array("q")
    for tid, (dup, n, peers) in clusters.items():
        flat.extend((tid, dup, n, len(peers), *peers))
    return flat.tobytes()


def _unpack_clusters(packed: bytes) -> Clusters:
    flat = array("q")
    flat.frombytes(packed)
    out: Clusters = {}
    i, end = 0, len(flat)
    while i < end:
        tid, dup, n, k = flat[i : i + 4]
        out[tid] = (dup, n, flat[i + 4 : i + 4 + k])  # an array: its ints are made when read
        i += 4 + k
    return out
