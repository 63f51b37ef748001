"""A worker's scheduler: target seeds from the shared Redis queue, each target's own requests kept local.

Seeds are the only requests that travel between processes (their meta is plain data: the target and
its incremental state). The requests a target's crawl makes from there carry objects (the target dict,
the portal's per-column jobs) and stay in this worker's memory, in priority order, so one worker
crawls each target whole. The seed's lease is renewed while any request of its target is queued,
downloading or being parsed here, and released when none is left. The duplicate filter is shared.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import Counter
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from crawler.distributed.config import distributed_config, unreachable_message
from crawler.distributed.queue import LeasedQueue

logger = logging.getLogger(__name__)

SEED = "monitor_seed"  # meta key of a seed request: the target and its state, plain data only
SEED_TARGET = "monitor_seed_target"  # meta key: the seed's target id (a seed has no "target" in meta)
RECLAIM_EVERY_S = 1.0
SETTLE_S = 0.1  # a target idle on two looks this far apart is finished


def target_of(request: Request) -> int | None:
    target = request.meta.get("target")
    if isinstance(target, dict) and target.get("id") is not None:
        return int(target["id"])
    seed = request.meta.get(SEED_TARGET)
    return int(seed) if seed is not None else None


class WorkerScheduler(RedisScheduler):  # type: ignore[misc]
    crawler: Crawler
    queue: LeasedQueue

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerScheduler:
        # Started by Scrapyd (`scrapy crawl` with MONITOR_ROLE) there was no `scrapy worker` to look first:
        # say so at once rather than after the minute of retries (scrapy-redis pings Redis here).
        problem = unreachable_message(distributed_config(crawler).redis_url)
        if problem is not None:
            logger.error(problem)
            raise RuntimeError(problem)
        scheduler: WorkerScheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.local = []
        scheduler.local_targets = Counter()
        scheduler.leases = {}
        scheduler.idle_checks = Counter()
        scheduler.seq = itertools.count()
        scheduler.reclaimed_at = scheduler.looked_at = 0.0
        scheduler.stopping = threading.Event()
        settings = crawler.settings
        scheduler.max_targets = settings.getint("MONITOR_WORKER_TARGETS") or settings.getint(
            "CONCURRENT_REQUESTS", 16
        )
        return scheduler

    local: list[tuple[int, int, Request]]
    local_targets: Counter[int]
    leases: dict[int, bytes]  # target id -> its seed as leased
    idle_checks: Counter[int]
    seq: itertools.count[int]
    reclaimed_at: float
    stopping: threading.Event
    looked_at: float
    max_targets: int  # targets this worker crawls at once: the rest stay in the queue for the others

    def open(self, spider: Any) -> None:
        super().open(spider)
        # Leases are renewed from a thread: a worker whose reactor is busy parsing (or starved of CPU)
        # keeps its targets; one that is killed stops renewing and loses them.
        threading.Thread(target=self._renew_leases, name="lease-renewal", daemon=True).start()

    def _renew_leases(self) -> None:
        every = max(self.queue.lease_s / 4, 0.2)
        while not self.stopping.wait(every):
            try:
                self.queue.renew(list(self.leases.values()))
            except Exception:  # a Redis hiccup: the next round renews
                logger.exception("could not renew the leases")

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if SEED in request.meta:
            self.queue.push(request)
        else:
            heapq.heappush(self.local, (-request.priority, next(self.seq), request))
            tid = target_of(request)
            if tid is not None:
                self.local_targets[tid] += 1
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        self.maintain()
        if self.local:
            request = heapq.heappop(self.local)[2]
            tid = target_of(request)
            if tid is not None:
                self.local_targets[tid] -= 1
            return request
        if len(self.leases) >= self.max_targets:
            return None
        popped = self.queue.pop_leased()
        if popped is None:
            return None
        raw, request = popped
        tid = target_of(request)
        if tid is not None:
            self.leases[tid] = raw
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
            self.stats.inc_value("monitor/distributed/targets_leased")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.local) or len(self.queue) > 0

    def __len__(self) -> int:
        return len(self.local) + len(self.queue)

    def busy_targets(self) -> set[int]:
        """Targets with a request queued here, downloading, or whose answer is being parsed."""
        busy = {tid for tid, n in self.local_targets.items() if n > 0}
        engine = self.crawler.engine
        if engine is not None:
            active: list[Request] = list(engine.downloader.active)
            if engine.scraper.slot is not None:
                active.extend(engine.scraper.slot.active)
                active.extend(req for _, req, _ in engine.scraper.slot.queue)
            busy.update(t for t in map(target_of, active) if t is not None)
        return busy

    def maintain(self, *, force: bool = False) -> None:
        """Release the leases of finished targets; once a second reclaim the seeds of stopped workers."""
        now = time.monotonic()
        if force or now - self.looked_at >= SETTLE_S:
            self.looked_at = now
            busy = self.busy_targets()
            for tid in list(self.leases):
                if tid in busy:
                    self.idle_checks[tid] = 0
                    continue
                # Finished when found idle on two looks: an answer on its way from the downloader to
                # the parser is never mistaken for the end of its target.
                self.idle_checks[tid] += 1
                if self.idle_checks[tid] >= 2 or force:
                    self.queue.release(self.leases.pop(tid))
                    del self.idle_checks[tid]
                    if self.stats:
                        self.stats.inc_value("monitor/distributed/targets_done")
        if force or now - self.reclaimed_at >= RECLAIM_EVERY_S:
            self.reclaimed_at = now
            reclaimed = self.queue.reclaim()
            if reclaimed:
                logger.warning("reclaimed %d target(s) from a worker that stopped", reclaimed)
                if self.stats:
                    self.stats.inc_value("monitor/distributed/targets_reclaimed", reclaimed)

    def close(self, reason: str) -> None:
        # Shared state belongs to the crawl, not to this worker: never flushed here (SCHEDULER_PERSIST).
        if reason == "finished":
            self.maintain(force=True)
        self.stopping.set()
