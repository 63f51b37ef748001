"""Run flags shared by every worker of a distributed crawl (spiders.base.RunFlags, in Redis).

A hash ``<prefix>:<spider>:flags``, emptied when the store seeds the next crawl: what one worker learns
for the run (the WeChat MP session is under frequency control) stops the others too, instead of each
worker finding it out by sending more requests on a refused session. A flag once seen is kept locally:
flags are never unset within a crawl.
"""

from __future__ import annotations

from typing import Any

from spiders.base import RunFlags

FLAGS = "flags"


class SharedFlags(RunFlags):
    def __init__(self, server: Any, key: str) -> None:
        super().__init__()
        self.server = server
        self.key = key

    def get(self, name: str) -> str | None:
        known = super().get(name)
        if known is not None:
            return known
        raw = self.server.hget(self.key, name)
        if raw is None:
            return None
        value = raw.decode()
        super().set(name, value)
        return value

    def set(self, name: str, value: str) -> None:
        self.server.hsetnx(self.key, name, value)  # the first worker's reason stands
        super().set(name, self.server.hget(self.key, name).decode())
