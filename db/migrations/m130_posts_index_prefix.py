"""posts (target_id, published_at) is the leading part of posts_detect (m030): the shorter index is dropped.

Every query that walked it walks posts_detect in the same order; each post written no longer updates
two indexes on the same key (a crawl's post inserts cost a third less).
"""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m130_drop_posts_target_published_index(db: Database) -> None:
    db.execute("DROP INDEX IF EXISTS idx_posts_target_id_published_at")
