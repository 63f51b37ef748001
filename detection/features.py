"""What detection knows of one post by itself, whatever the day it is judged: its notice reading (关停、
注销、停更公告, and where the content moved) and its SimHash.

Both depend on the post alone (its title, text and date), so each is computed once per text: by the
store's writer process as a crawl writes new posts (on the writer's core, while the crawl goes on), or by
detection for posts that reached the database otherwise. Both call these functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.clock import iso, parse_iso
from detection.rules.config import RuleSet
from detection.rules.notice import classify_notice, could_be_notice, notice_to_json
from detection.rules.quality import simhash


def notice_of(title: str | None, text: str | None, published_at: str) -> str | None:
    """The post's notice as stored (JSON), or None when it is none; what the classifier's own gate
    rules out is never classified."""
    if not could_be_notice(title, text):
        return None
    notice = classify_notice(title, text, parse_iso(published_at))
    return notice_to_json(notice) if notice is not None else None


def text_simhash(title: str | None, text: str | None) -> int:
    """The unsigned 64-bit SimHash near-duplicate detection compares (title and text together)."""
    return simhash((title or "") + (text or ""))


def hash_window_start(rules: RuleSet, as_of: datetime) -> str:
    """The oldest publication time whose SimHash near-duplicate detection compares at ``as_of``."""
    days = rules.resolved(rules.default_profile)["account.duplicate_posts"]["window_days"]
    return iso(as_of - timedelta(days=days))


def post_features(
    title: str | None, text: str | None, published_at: str | None, hash_from: str | None = None
) -> tuple[bool, str | None, int | None]:
    """(judged, notice, simhash) of a new post. Not judged when it has no date (the window cannot
    place it) or the classifier raised: detection judges it then, and records the error. Not hashed
    when it has no date or was published before ``hash_from`` (a crawl's duplicate window, see
    ``hash_window_start``): no window of its run compares it, and detection hashes any post of its window
    that has no SimHash (a first crawl of an account's years of history hashes only its last month)."""
    hashed = text_simhash(title, text) if published_at and published_at >= (hash_from or "") else None
    if not published_at:
        return False, None, hashed
    try:
        return True, notice_of(title, text, published_at), hashed
    except Exception:
        return False, None, hashed
