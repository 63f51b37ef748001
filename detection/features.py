"""What detection knows of one post by itself, whatever the day it is judged: its notice reading (关停、
注销、停更公告, and where the content moved) and its SimHash.

Both depend on the post alone (its title, text and date), so each is computed once per text: by the
store's writer process as a crawl writes new posts (on the writer's core, while the crawl goes on), or by
detection for posts that reached the database otherwise. Both call these functions.
"""

from __future__ import annotations

from core.clock import parse_iso
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


def post_features(
    title: str | None, text: str | None, published_at: str | None
) -> tuple[bool, str | None, int]:
    """(judged, notice, simhash) of a new post. Not judged when it has no date (the window cannot
    place it) or the classifier raised: detection judges it then, and records the error."""
    hashed = text_simhash(title, text)
    if not published_at:
        return False, None, hashed
    try:
        return True, notice_of(title, text, published_at), hashed
    except Exception:
        return False, None, hashed
