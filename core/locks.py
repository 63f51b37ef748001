"""File locks beside the database: one process at a time for a schema upgrade, and for each spider's run."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def lock_path(db_path: str | Path, name: str) -> Path:
    """``.<db file name>.locks/<name>.lock`` beside the database: two databases never block each other."""
    db = Path(db_path)
    folder = db.parent / f".{db.name}.locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.lock"


class Lock:
    """An exclusive advisory lock (flock); released when the process ends, even by kill -9."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    def acquire(self, *, timeout: float = 0.0, poll: float = 0.2) -> bool:
        """True once held; False if another process still holds it after ``timeout`` seconds."""
        handle = self.path.open("a+")
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    return False
                time.sleep(poll)
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            self.handle = handle
            return True

    def holder(self) -> str:
        """The pid written by whoever holds (or last held) the lock."""
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


@contextmanager
def held(path: Path, *, timeout: float) -> Iterator[bool]:
    lock = Lock(path)
    got = lock.acquire(timeout=timeout)
    try:
        yield got
    finally:
        lock.release()
