"""The closure-notice classifier learned to read notices by meaning: judge every stored post again."""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m070_rejudge_notices(db: Database) -> None:
    # Posts judged by the pattern-based classifier go back on the queue; the next detection run reads
    # each of them once more (the same cost as a first run on that many posts).
    db.execute("UPDATE post_features SET notice_checked = 0, notice = NULL WHERE notice_checked = 1")
