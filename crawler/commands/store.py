"""`scrapy store <spider>`: seed a distributed crawl and write what its workers find into the database."""

from __future__ import annotations

from crawler.distributed.command import RoleCommand
from crawler.distributed.config import Role


class Command(RoleCommand):
    role = Role.STORE

    def short_desc(self) -> str:
        return "Seed a distributed crawl and store its items (needs MONITOR_REDIS_URL)"

    def long_desc(self) -> str:
        return (
            "The one writer of a distributed crawl, beside the database: starts the run, puts one seed\n"
            "per active target in Redis, runs the workers' items through normalize → store → detect,\n"
            "adds the workers' counters to the run and finishes it once the crawl has drained.\n\n"
            "Example:\n  MONITOR_REDIS_URL=redis://127.0.0.1:6379/0 scrapy store feed"
        )
