"""One distributed crawl's shared state: its phase, its workers, and the store's seed-and-drain loop.

Phases (key ``<prefix>:<spider>:state``): ``seeding`` while the store fills the queue, ``crawling`` until
the queue and the leases are empty and every worker has reported, then ``finished``. Workers wait for
seeds, crawl while there is work or a lease that may come back, and close once the crawl has drained.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from crawler.distributed.config import DistributedConfig, Role, distributed_config
from crawler.distributed.flags import FLAGS, SharedFlags
from crawler.distributed.items import decode_item
from crawler.distributed.queue import LeasedQueue
from pipelines.store import stored_ticket

logger = logging.getLogger(__name__)

SEEDING, CRAWLING, FINISHED = "seeding", "crawling", "finished"
REDIS_LOST = "redis_lost"  # the close reason of a store whose crawl vanished from Redis
REDIS_UNREACHABLE = "redis_unreachable"  # ... of a store that found no Redis to seed
DRAIN_BATCH = 500
POLL_S = 0.25
WAITING_LOG_S = 60.0

# The store takes the workers' items in chunks, each moved in one step into a list of its own
# ("items:taken:<n>", its number in the sorted set "items:taken"), and deletes a chunk only once it is
# committed: a store that dies (killed, out of memory, the machine down) leaves what it took and had not
# stored, and the next store drains it again. A chunk whose answer was lost on the way (the command
# retried after a dropped connection) is never handed on: it is given back before the crawl finishes.
# KEYS: items, taken, the chunk counter. ARGV: how many. Returns the chunk's number, then its items.
TAKE = """
local xs = redis.call('LPOP', KEYS[1], ARGV[1])
if not xs then return {} end
local n = redis.call('INCR', KEYS[3])
redis.call('RPUSH', KEYS[2] .. ':' .. n, unpack(xs))
redis.call('ZADD', KEYS[2], n, n)
table.insert(xs, 1, tostring(n))
return xs
"""
# KEYS: taken. ARGV: a chunk's number. The chunk is stored: forget it.
STORED = """
redis.call('DEL', KEYS[1] .. ':' .. ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
"""
# KEYS: items, taken. Puts every taken chunk back at the front of the list, in their order; returns how
# many items.
GIVE_BACK = """
local chunks = redis.call('ZRANGE', KEYS[2], 0, -1)
local count = 0
for i = #chunks, 1, -1 do
  local key = KEYS[2] .. ':' .. chunks[i]
  local xs = redis.call('LRANGE', key, 0, -1)
  for j = #xs, 1, -1 do redis.call('LPUSH', KEYS[1], xs[j]) end
  count = count + #xs
  redis.call('DEL', key)
end
redis.call('DEL', KEYS[2])
return count
"""
Ticket = Callable[[], bool]  # true once what the store pipeline had received when it was issued is committed


class SharedCrawl:
    def __init__(self, config: DistributedConfig, spider: Any) -> None:
        self.config = config
        self.spider_name = spider.name
        self.server: Any = config.redis()
        self.queue = LeasedQueue(self.server, spider, config.key(spider.name, "seeds"))
        self._take = self.server.register_script(TAKE)
        self._stored = self.server.register_script(STORED)
        # per chunk handed on and not yet forgotten: its ticket, its number
        self.waiting_for: deque[tuple[Ticket, str]] = deque()
        self._give_back_script = self.server.register_script(GIVE_BACK)

    def key(self, name: str) -> str:
        return self.config.key(self.spider_name, name)

    def state(self) -> str | None:
        raw = self.server.get(self.key("state"))
        return raw.decode() if raw else None

    def set_state(self, state: str) -> None:
        self.server.set(self.key("state"), state)

    def is_drained(self) -> bool:
        return self.state() == CRAWLING and len(self.queue) == 0 and self.queue.leased() == 0

    def reset(self) -> None:
        # Registered workers stay: one that started before the store is waiting for these seeds.
        self.give_back()  # chunks a crawl Redis half forgot left behind go with its items
        names = ("seeds", "seeds:leases", "dupefilter", "items", "items:taken:n", "worker_stats", "state")
        self.server.delete(*(self.key(n) for n in names), self.key(FLAGS))

    # --- workers ---------------------------------------------------------------------------------

    def heartbeat(self, worker_id: str) -> None:
        self.server.sadd(self.key("workers"), worker_id)
        self.server.set(self.key(f"alive:{worker_id}"), "1", px=int(self.config.lease_s * 1000))

    def pending_workers(self) -> list[str]:
        """Workers that are alive and have not reported their counters yet."""
        reported = {k.decode() for k in self.server.hkeys(self.key("worker_stats"))}
        pending = []
        for raw in self.server.smembers(self.key("workers")):
            worker = raw.decode()
            if not self.server.exists(self.key(f"alive:{worker}")):
                self.server.srem(self.key("workers"), worker)  # stopped without a word: killed
            elif worker not in reported:
                pending.append(worker)
        return pending

    def worker_stats(self) -> dict[str, dict[str, Any]]:
        return {k.decode(): json.loads(v) for k, v in self.server.hgetall(self.key("worker_stats")).items()}

    # --- the store ---------------------------------------------------------------------------------

    def seed(self, requests: Iterable[Request]) -> int:
        """Fill the queue (a crawl left half done by a stopped store is resumed, not seeded again)."""
        if self.state() == CRAWLING:
            returned = self.give_back()
            logger.warning(
                "resuming the distributed crawl of %s (%d seeds queued; %d items the last store took and "
                "had not stored are drained again)",
                self.spider_name,
                len(self.queue),
                returned,
            )
            return 0
        self.reset()
        self.set_state(SEEDING)
        n = 0
        for request in requests:
            self.queue.push(request)
            n += 1
        self.set_state(CRAWLING)
        return n

    def give_back(self) -> int:
        """Every chunk taken and not stored back at the front of the item list; how many items."""
        return int(self._give_back_script(keys=[self.key("items"), self.key("items:taken")]))

    async def drain(self, ticket: Callable[[bool], Ticket], settled: Callable[[], int]) -> AsyncIterator[Any]:
        """The workers' items as they arrive, until the crawl has drained and every worker reported and
        everything taken is committed.

        ``settled()`` counts the items that went through the pipelines; ``ticket(flush)`` asks the store
        pipeline for a ticket over what it has received (``flush``: write it now). A chunk is forgotten
        once its ticket says it is committed.
        """
        keys = [self.key("items"), self.key("items:taken"), self.key("items:taken:n")]
        waiting_for = self.waiting_for  # per chunk handed on: its ticket, its number
        yielded = 0
        drained_at: float | None = None
        said_at = time.monotonic()
        while True:
            self.forget_stored()
            chunk, *raws = self._take(keys=keys, args=[DRAIN_BATCH]) or [None]
            if chunk is not None:
                for raw in raws:
                    yield decode_item(raw)
                yielded += len(raws)
                while settled() < yielded:  # the pipelines run as tasks of their own
                    await asyncio.sleep(0.005)
                waiting_for.append((ticket(False), chunk.decode()))
                continue
            if self.state() is None:
                # Redis restarted without its data (no persistence): the queue, the leases and the items
                # on their way are gone. Not a finished crawl, and not one that can ever drain.
                logger.error(
                    "Redis lost the distributed crawl of %s (restarted without persistence?): what it had "
                    "not delivered is gone; run the crawl again",
                    self.spider_name,
                )
                raise CloseSpider(REDIS_LOST)
            reclaimed = self.queue.reclaim()
            if reclaimed:
                logger.warning("reclaimed %d target(s) from a worker that stopped", reclaimed)
            if self.is_drained() and not self.server.llen(keys[0]):
                drained_at = drained_at or time.monotonic()
                waiting = self.pending_workers()
                if not waiting or time.monotonic() - drained_at > self.config.lease_s:
                    if waiting:
                        logger.warning("workers %s did not report their counters", ", ".join(waiting))
                    # The crawl is declared finished (its lists deleted) only once all it took is on disk.
                    waiting_for.append((ticket(True), ""))
                    while waiting_for:
                        self.forget_stored()
                        await asyncio.sleep(0.05)
                    never_handed_on = self.give_back()
                    if not never_handed_on:
                        break
                    logger.warning("%d items taken and never handed on are drained again", never_handed_on)
                    continue
            if time.monotonic() - said_at > WAITING_LOG_S:
                said_at = time.monotonic()
                logger.info(
                    "waiting for workers: %d seeds queued, %d leased", len(self.queue), self.queue.leased()
                )
            await asyncio.sleep(0.05)

    def forget_stored(self) -> None:
        """Forget the chunks handed on that are committed (at close too: a store stopped with Ctrl-C or
        a service stop has written them by then, and the next store need not drain them again)."""
        while self.waiting_for and self.waiting_for[0][0]():
            chunk = self.waiting_for.popleft()[1]
            if chunk:
                self._stored(keys=[self.key("items:taken")], args=[chunk])

    def finish(self) -> None:
        # kept a lease long: a worker still finishing sees the crawl is over; a later one waits for seeds
        self.server.set(self.key("state"), FINISHED, px=int(self.config.lease_s * 1000))
        for name in ("seeds", "seeds:leases", "dupefilter", "items", "items:taken", "items:taken:n"):
            self.server.delete(self.key(name))


async def run_store(spider: Any, seeds: Iterable[Request]) -> AsyncIterator[Any]:
    """The store role's start(): seed the crawl, yield the workers' items, add their counters."""
    crawler = spider.crawler
    crawl = SharedCrawl(distributed_config(crawler), spider)
    stats = crawler.stats
    stats.set_value("monitor/distributed/seeds", crawl.seed(seeds))
    settled = [0]

    def one_settled(*_: Any, **__: Any) -> None:
        settled[0] += 1

    for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
        crawler.signals.connect(one_settled, signal=signal, weak=False)

    def ticket(flush: bool) -> Ticket:
        answers = [t for _, t in crawler.signals.send_catch_log(stored_ticket, flush=flush) if callable(t)]
        return answers[0] if answers else (lambda: True)  # no store pipeline: nothing is written to wait for

    crawler.signals.connect(lambda **_: crawl.forget_stored(), signal=signals.spider_closed, weak=False)
    async for item in crawl.drain(ticket, lambda: settled[0]):
        yield item
    reports = crawl.worker_stats()
    for counters in reports.values():
        for name, value in counters.items():
            stats.inc_value(name, value)
    stats.set_value("monitor/distributed/workers", len(reports))
    crawl.finish()


class WorkerLifecycle:
    """A worker's heartbeat, and its stay-open rule: wait for seeds, close when the crawl has drained."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = distributed_config(crawler)
        self.wait_s = crawler.settings.getfloat("MONITOR_WORKER_WAIT_S", 300.0)
        self.crawl: SharedCrawl | None = None
        self.started = time.monotonic()
        self.beat: task.LoopingCall | None = None
        self.beat_at = 0.0
        self.closing = False
        self.joined = False  # this worker has seen the crawl in its crawling phase
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerLifecycle:
        if distributed_config(crawler).role is not Role.WORKER:
            raise NotConfigured("for distributed workers")
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        self.crawl = SharedCrawl(self.config, spider)
        spider.flags = SharedFlags(self.crawl.server, self.crawl.key(FLAGS))
        self.beat = task.LoopingCall(self.tick)
        self.beat.start(POLL_S)

    def tick(self) -> None:
        """Heartbeat; and, while idle, release finished targets and close as soon as the crawl drains
        (Scrapy itself looks at an idle spider only every 5 s)."""
        assert self.crawl is not None
        now = time.monotonic()
        if now - self.beat_at >= self.config.lease_s / 3:
            self.beat_at = now
            self.crawl.heartbeat(self.config.worker_id)
        engine = self.crawler.engine
        if engine is None or self.closing:
            return
        scheduler: Any = engine.scheduler
        if hasattr(scheduler, "maintain"):
            held = len(scheduler.leases)
            scheduler.maintain()
            slot = getattr(engine, "_slot", None)
            if len(scheduler.leases) < held and slot is not None:
                # Targets finished while the worker sat at its target limit: Scrapy would ask the
                # scheduler again only at its next 5 s heartbeat.
                slot.nextcall.schedule()
        if not engine.spider_is_idle():
            return
        if self.may_close():
            self.closing = True
            deferred_from_coro(engine.close_spider_async(reason="finished"))

    def may_close(self) -> bool:
        assert self.crawl is not None
        scheduler = self.crawler.engine.scheduler if self.crawler.engine else None
        if scheduler is not None and hasattr(scheduler, "maintain"):
            scheduler.maintain(force=False)
            if scheduler.has_pending_requests() or getattr(scheduler, "leases", None):
                return False
        state = self.crawl.state()
        stats = self.crawler.stats
        if state == CRAWLING or (stats is not None and stats.get_value("monitor/distributed/targets_leased")):
            self.joined = True  # a worker that crawled a seed of this crawl took part in it
        # A crawl this worker never saw running may be an earlier one: wait for the next seeds.
        if self.joined and (state == FINISHED or self.crawl.is_drained()):
            return True
        if self.joined and state is None:
            logger.error("Redis lost the distributed crawl (restarted without persistence?)")
            return True
        if not self.joined and time.monotonic() - self.started > self.wait_s:
            logger.warning("no distributed crawl was seeded within %.0f s", self.wait_s)
            return True
        return False

    def spider_idle(self, spider: Any) -> None:
        if not self.may_close():
            raise DontCloseSpider

    def spider_closed(self, spider: Any) -> None:
        if self.beat is not None and self.beat.running:
            self.beat.stop()
