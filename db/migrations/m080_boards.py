"""Message boards as they are: whether a message was answered, apart from its reply date; how far a board
was read."""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m080_message_answer_state(db: Database) -> None:
    # answered / open / unknown. A board that says 已回复 or 办理完毕 without a reply date answered the
    # message: answered_at stays empty and answer_state says answered. Rows written before this migration are
    # judged by what they hold: a reply date is an answer; an empty one concludes nothing until re-read.
    db.table("messages").add_column("answer_state", str)
    db.execute(
        "UPDATE messages SET answer_state = CASE WHEN coalesce(answered_at, '') != '' THEN 'answered' "
        "ELSE 'unknown' END"
    )
    db.table("messages").create_index(["board_kind", "answer_state", "asked_at"])


@migrations()
def m080_board_columns(db: Database) -> None:
    # A board column's kind, the oldest message date among the pages read, and whether pages that could
    # hold older messages were left unread (page cap, a failed page): 1 = truncated, 0 = read far enough.
    columns = db.table("columns")
    columns.add_column("board_kind", str)
    columns.add_column("oldest_item_at", str)
    columns.add_column("truncated", int)
