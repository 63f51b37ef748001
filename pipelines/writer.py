"""The store's writes: batches of item rows, one transaction each, in a process of their own.

``BatchWriter`` writes a batch into one database (per-item rows first, then one statement per table for
the independent rows; a row that breaks a constraint is lost alone, and counted). ``ProcessWriter``
runs it in a child process (``python -m pipelines.writer``), so SQLite's work (inserts, the trigram
index, the detection queue with each new post's notice reading and SimHash, checkpoints) runs on
another core while the crawl downloads and parses. A thread would not do: every SQLite step gives the
interpreter lock back and waits to take it again behind the parsing thread. Batches travel pickled
over the child's stdin, in order; the child acknowledges each one it committed. If it dies, what it had
not acknowledged is written in the crawl's own process (an item is never lost because the writer
process was), and the rest of the run writes there too.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import operator
import os
import pickle
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from sqlite_utils import Database

import db as store
from core.enums import CheckOutcome
from core.items import AccountItem, AccountSeenItem, CheckItem, PostItem, ValidatorItem
from db import accounts as accounts_db
from db import bulk, runs
from db import portal as portal_store
from detection.features import post_features

logger = logging.getLogger(__name__)

# A batch's items as (item class, its field values in the class's order, when it was seen): a row without
# its column names crosses the pipe smaller and is pickled faster; the writer names them again (``_row``).
Entry = tuple[type, tuple[Any, ...], str]
Batch = list[Entry]
HEADER = 8  # bytes of a frame's length


@lru_cache(maxsize=32)
def _columns(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@lru_cache(maxsize=32)
def _values_of(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    get = operator.attrgetter(*_columns(cls))
    return get if len(_columns(cls)) > 1 else lambda item: (get(item),)


def batch_entry(item: Any, seen_at: str) -> Entry:
    """An item as its batch carries it."""
    cls: type = type(item)
    return cls, _values_of(cls)(item), seen_at


def _post_row(row: dict[str, Any]) -> dict[str, Any]:
    row["first_seen_at"] = row["updated_at"] = row.pop("seen_at")
    return row


def _check_row(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("seen_at")
    row["ok"] = int(CheckOutcome(row["outcome"]).is_ok)
    return row


def _validator_row(row: dict[str, Any]) -> dict[str, Any]:
    row["updated_at"] = row.pop("seen_at")
    return row


def _post(database: Database, row: dict[str, Any]) -> int:
    return store.upsert_post(database, _post_row(row))


def _check(database: Database, row: dict[str, Any]) -> None:
    bulk.insert_checks(database, [_check_row(row)])


Writer = Callable[[Database, dict[str, Any]], object]  # what it returns (a row id) is not used
BulkWriter = Callable[[Database, list[dict[str, Any]], str, bulk.Features], object]

# One item at a time, each in its own savepoint: rows that depend on rows written before them.
WRITERS: dict[type, Writer] = {
    PostItem: _post,
    CheckItem: _check,
    AccountItem: store.record_account,
    **portal_store.WRITERS,
    ValidatorItem: accounts_db.upsert_validator,
    AccountSeenItem: accounts_db.touch_account,
}

# Independent rows: one statement per table and batch, after the per-item rows of the batch. A batch
# that breaks a constraint is rolled back and written item by item, so only the bad row is lost.
# New posts enter detection's queue already judged and hashed (detection/features.py): that work is done
# here, in the writer, once per text.
BULK_WRITERS: dict[type, BulkWriter] = {
    PostItem: lambda d, rows, owner, features: bulk.write_posts(
        d, [_post_row(r) for r in rows], owner=owner, features=features
    ),
    CheckItem: lambda d, rows, owner, _: bulk.insert_checks(d, [_check_row(r) for r in rows]),
    ValidatorItem: lambda d, rows, owner, _: bulk.upsert_rows(
        d, "http_validators", [_validator_row(r) for r in rows], key=("url",)
    ),
}


class BatchWriter:
    """Writes batches of one run into one database; ``counts`` holds the monitor/dropped/* it lost."""

    def __init__(self, database: Database, run_id: int, hash_from: str | None = None) -> None:
        self.db = database
        self.run_id = run_id
        self.counts: Counter[str] = Counter()
        # new posts judged and hashed as they are queued; hashed from ``hash_from`` (the run's window) on
        self.features: bulk.Features = functools.partial(post_features, hash_from=hash_from)

    def write(self, batch: Batch) -> None:
        """One batch in one short transaction, retried while the file stays locked."""
        for attempt in range(5):
            try:
                self._write(batch)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                logger.warning("database busy (%s); retrying the write (%d)", exc, attempt + 1)
                time.sleep(0.5 * 2**attempt)
        self._write(batch)

    def _write(self, batch: Batch) -> None:
        conn = self.db.conn
        singles: list[tuple[Writer, dict[str, Any]]] = []
        grouped: dict[type, list[dict[str, Any]]] = {}
        for cls, values, seen_at in batch:
            row = dict(zip(_columns(cls), values, strict=True))
            row["run_id"], row["seen_at"] = self.run_id, seen_at
            if cls in BULK_WRITERS:
                grouped.setdefault(cls, []).append(row)
            else:
                singles.append((WRITERS[cls], row))
        conn.execute("BEGIN IMMEDIATE")
        try:
            for writer, row in singles:
                self._write_one(writer, row)
            for cls, rows in grouped.items():
                conn.execute("SAVEPOINT bulk")
                try:
                    BULK_WRITERS[cls](self.db, [dict(r) for r in rows], f"store-{os.getpid()}", self.features)
                except (sqlite3.IntegrityError, ValueError):
                    conn.execute("ROLLBACK TO bulk")
                    conn.execute("RELEASE bulk")
                    for row in rows:
                        self._write_one(WRITERS[cls], row)
                else:
                    conn.execute("RELEASE bulk")
            runs.heartbeat(self.db, self.run_id)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _write_one(self, writer: Writer, row: dict[str, Any]) -> None:
        conn = self.db.conn
        conn.execute("SAVEPOINT item")
        try:
            writer(self.db, dict(row))
        except (sqlite3.IntegrityError, ValueError) as exc:
            # one row that cannot be stored (a constraint, a column not stored): that row only
            conn.execute("ROLLBACK TO item")
            self.counts["monitor/dropped/integrity_error"] += 1
            logger.warning("item not stored (%s): %s", exc, row.get("url"))
        conn.execute("RELEASE item")


def _read_frame(stream: IO[bytes]) -> bytes | None:
    header = stream.read(HEADER)
    if len(header) < HEADER:
        return None
    size = int.from_bytes(header, "big")
    data = stream.read(size)
    if len(data) < size:
        return None
    return data


class ProcessWriter:
    """The crawl's side of the writer process: ``submit`` a batch, ``finish`` to wait for the last.

    At most ``depth`` batches wait in the child; past that ``submit`` waits (the crawl goes at the
    disk's pace). ``counts`` are the child's, added at finish.
    """

    def __init__(self, db_path: str | Path, run_id: int, depth: int, hash_from: str | None = None) -> None:
        self.db_path = Path(db_path)
        self.run_id = run_id
        self.hash_from = hash_from
        self.counts: Counter[str] = Counter()
        self.pending: dict[int, Batch] = {}  # sent, not yet acknowledged
        self.sent = 0
        self.acked = 0  # every batch up to this one is written (batches are written in order)
        self.inline: BatchWriter | None = None
        self._lock = threading.Lock()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines.writer",
                str(self.db_path),
                str(run_id),
                str(depth),
                hash_from or "",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._acks = threading.Thread(target=self._read_acks, name="monitor-store-acks", daemon=True)
        self._acks.start()

    def _read_acks(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            kind, _, rest = line.decode().strip().partition(" ")
            if kind == "ack":
                with self._lock:
                    self.pending.pop(int(rest), None)
                    self.acked = int(rest)
            elif kind == "counts":
                self.counts.update(json.loads(rest))

    def submit(self, batch: Batch) -> None:
        self.sent += 1
        if self.inline is not None:
            self.inline.write(batch)
            self.acked = self.sent
            return
        with self._lock:
            self.pending[self.sent] = batch
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(len(data).to_bytes(HEADER, "big") + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._take_over("the writer process is gone")

    def finish(self) -> Counter[str]:
        """Wait until every batch is written; the rows lost, by monitor/dropped/* counter."""
        if self.inline is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            code = self.proc.wait()
            self._acks.join()
            if code != 0 or self.pending:
                self._take_over(f"the writer process ended with {code}")
        if self.inline is not None:
            self.counts.update(self.inline.counts)
            self.inline.db.close()
        return self.counts

    def _take_over(self, why: str) -> None:
        """Write what the child did not acknowledge here, and every later batch too."""
        self.proc.kill()
        self.proc.wait()
        self._acks.join()
        with self._lock:
            left = [self.pending[k] for k in sorted(self.pending)]
            self.pending.clear()
        logger.error("%s: %d batch(es) not acknowledged are written by the crawl itself", why, len(left))
        self.counts["monitor/store/writer_process_lost"] += 1
        self.inline = BatchWriter(store.open_db(self.db_path), self.run_id, self.hash_from)
        for batch in left:
            self.inline.write(batch)
        self.acked = self.sent


def main(argv: list[str]) -> int:
    """The child: read batches from stdin until it closes, write each, acknowledge each on stdout."""
    db_path, run_id, depth, hash_from = argv
    # Ctrl-C and a service stop reach the whole process group: the crawl stops gracefully and closes
    # this process's stdin, which ends it once the queued batches are written.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    logging.basicConfig(
        level=os.environ.get("MONITOR_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s [%(name)s] %(levelname)s: %(message)s",
    )
    writer = BatchWriter(store.open_db(db_path), int(run_id), hash_from or None)
    batches: queue.Queue[bytes | None] = queue.Queue(maxsize=max(1, int(depth)))

    def read() -> None:  # the pipe is emptied while the previous batch is written
        while (frame := _read_frame(sys.stdin.buffer)) is not None:
            batches.put(frame)
        batches.put(None)

    threading.Thread(target=read, name="monitor-store-read", daemon=True).start()
    seq = 0
    out = sys.stdout
    while (frame := batches.get()) is not None:
        seq += 1
        batch: Batch = pickle.loads(frame)  # noqa: S301 (our own parent, over our own pipe)
        try:
            writer.write(batch)
        except Exception:  # not a row's fault (the disk, the schema): that batch is lost, and counted
            logger.exception("a batch of %d items could not be stored", len(batch))
            writer.counts["monitor/dropped/store_error"] += len(batch)
        out.write(f"ack {seq}\n")
        out.flush()
    out.write(f"counts {json.dumps(dict(writer.counts))}\n")
    out.flush()
    writer.db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
