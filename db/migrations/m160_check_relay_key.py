"""A check relayed by a distributed worker carries the key the worker gave it (``relay_key``), unique:
a chunk of items the store drains again (a store killed before it forgot what it had committed, one
stopped while handing a chunk on, a take whose answer was lost) records each of its checks once.

Posts, account observations, portal rows and validators are upserts or extend the latest row, so an
item stored twice changes nothing there; checks are appended, so they need the key. A single-machine
crawl leaves it NULL (the partial index holds no NULL).
"""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m160_check_relay_key(db: Database) -> None:
    if "relay_key" not in db["checks"].columns_dict:
        db.execute("ALTER TABLE checks ADD COLUMN relay_key TEXT")
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS checks_relay_key ON checks (relay_key) WHERE relay_key IS NOT NULL"
    )
