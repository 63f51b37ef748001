"""Distributed mode against a real redis-server: two workers and one store crawl the demo world.

The database they fill equals the session's single-machine crawl of the same world; a worker killed
mid-crawl loses nothing (its leased targets come back to the other); neither does a store killed with
items it took from Redis and had not committed (the next store drains them again); the per-host limit
the demo server observes holds over both workers.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import CREDENTIALS, SPIDERS, Crawl
from tests.helpers import free_port, run_scrapy
from tests.redis_helpers import (
    REDIS_SERVER,
    crawl_rows,
    redis_server,
    start_redis,
    start_scrapy,
    stop_started,
    wait_all,
)

pytestmark = pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="redis-server is not installed")


@pytest.fixture(autouse=True)
def _stop_what_the_test_started() -> Iterator[None]:
    yield
    stop_started()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


Rows = dict[str, Counter[tuple[Any, ...]]]
# One request at a time, 0.3 s apart, each item logged: a crawl that lasts while the test acts on it.
SLOW_CRAWL = {"MONITOR_HOST_CONCURRENCY": "1", "MONITOR_HOST_DELAY_S": "0.3", "MONITOR_LOG_LEVEL": "DEBUG"}


@pytest.fixture(scope="module")
def single_feed(world_crawl: Crawl, tmp_path_factory: pytest.TempPathFactory) -> Rows:
    """What a single-machine `scrapy crawl feed` of the world stores (the yardstick of the tests below)."""
    db_path = tmp_path_factory.mktemp("single-feed") / "single.db"
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=db_path)
    run_scrapy("crawl", "feed", db_path=db_path)
    return crawl_rows(db_path)


def assert_stores_what_a_single_crawl_stores(single: Rows, db_path: Path) -> None:
    """The same posts, no more, no fewer; every account observation, check and validator a single crawl
    records (a target crawled again may record one twice)."""
    distributed = crawl_rows(db_path)
    assert sum(single["posts"].values()) > 0
    assert distributed["posts"] == single["posts"]
    for table in ("accounts", "checks", "http_validators"):
        assert set(distributed[table]) == set(single[table]), table


def crawl_distributed(spider: str, *, db_path: Path, tmp: Path, workers: int = 2, **env: str) -> list[Path]:
    """`scrapy store SPIDER` and WORKERS × `scrapy worker SPIDER`, to the end; return their logs."""
    logs = [tmp / f"{spider}-store.log", *(tmp / f"{spider}-worker{i}.log" for i in range(workers))]
    procs = [start_scrapy("store", spider, db_path=db_path, log=logs[0], **env)]
    procs += [start_scrapy("worker", spider, db_path=db_path, log=log, **env) for log in logs[1:]]
    wait_all(procs, logs)
    return logs


def test_two_workers_fill_the_database_a_single_crawl_fills(
    world_crawl: Crawl, redis_url: str, tmp_path: Path
) -> None:
    db_path = tmp_path / "monitor.db"
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=db_path)
    # DEBUG: the workers print their stats (targets leased) when they end
    env = {
        **CREDENTIALS,
        "MONITOR_REDIS_URL": redis_url,
        "MONITOR_REDIS_PREFIX": "equal",
        "MONITOR_LOG_LEVEL": "DEBUG",
    }
    for spider in SPIDERS:
        logs = crawl_distributed(spider, db_path=db_path, tmp=tmp_path, **env)
        leased = [
            int(line.split(":")[-1].strip(" ,"))
            for log in logs[1:]
            for line in log.read_text().splitlines()
            if "'monitor/distributed/targets_leased'" in line
        ]
        assert sum(leased) > 0, f"no worker crawled a {spider} target"
    single, distributed = crawl_rows(world_crawl.db_path), crawl_rows(db_path)
    for table in single:
        assert distributed[table] == single[table], (
            f"{table}: only distributed {list((distributed[table] - single[table]).items())[:3]}, "
            f"only single {list((single[table] - distributed[table]).items())[:3]}"
        )
    assert sum(distributed["posts"].values()) > 0
    assert max(distributed["posts"].values()) == 1  # no post twice


def test_a_killed_worker_loses_nothing_and_the_host_limit_holds(
    world_crawl: Crawl, single_feed: Rows, redis_url: str, tmp_path: Path
) -> None:
    base = world_crawl.world.base
    db_path = tmp_path / "monitor.db"
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=db_path)
    prefix = "killed"
    env = {
        "MONITOR_REDIS_URL": redis_url,
        "MONITOR_REDIS_PREFIX": prefix,
        "MONITOR_LEASE_S": "2",
        # one site, at most 2 requests in flight over both workers, starts 0.1 s apart
        "MONITOR_HOST_CONCURRENCY": "2",
        "MONITOR_HOST_DELAY_S": "0.1",
    }
    settings = [f"-s{k}={v}" for k, v in env.items() if k.startswith("MONITOR_HOST")]
    urllib.request.urlopen(f"{base}/_demo/politeness?reset=1").read()
    logs = [tmp_path / "store.log", tmp_path / "doomed.log", tmp_path / "survivor.log"]
    store = start_scrapy("store", "feed", *settings, db_path=db_path, log=logs[0], **env)
    doomed = start_scrapy("worker", "feed", *settings, db_path=db_path, log=logs[1], **env)
    server = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 60
    while server.llen(f"{prefix}:feed:items") == 0 and server.zcard(f"{prefix}:feed:seeds:leases") == 0:
        assert time.monotonic() < deadline, logs[1].read_text()[-3000:]
        time.sleep(0.05)
    time.sleep(0.3)
    unfinished = server.zcard(f"{prefix}:feed:seeds:leases")
    os.kill(doomed.pid, signal.SIGKILL)  # mid-crawl: targets leased, some items sent
    doomed.wait()
    survivor = start_scrapy("worker", "feed", *settings, db_path=db_path, log=logs[2], **env)
    wait_all([survivor, store], [logs[2], logs[0]])

    # the killed worker's targets were crawled again: more rows maybe, never fewer
    assert_stores_what_a_single_crawl_stores(single_feed, db_path)
    if unfinished:
        assert "reclaimed" in logs[2].read_text() + logs[0].read_text()
    assert server.zcard(f"{prefix}:feed:seeds:leases") == 0

    seen = json.loads(urllib.request.urlopen(f"{base}/_demo/politeness").read())
    host = base.removeprefix("http://")
    assert seen[host]["requests"] >= 10
    assert seen[host]["max_concurrent"] <= 2
    # Starts are 0.1 s apart by Redis' clock; a busy worker may send one a few ms late, so two arrivals
    # can come closer than that, never at the rate of two unthrottled workers; on average they keep it.
    assert seen[host]["mean_interval_s"] >= 0.095, seen[host]
    assert seen[host]["min_interval_s"] >= 0.05, seen[host]


def _until(done: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    """Wait until ``done()``, as long as ``proc`` runs and the deadline is ahead."""
    while not done():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)


def _kill_with_children(pid: int) -> None:
    """SIGKILL a process and everything it started (its writer process): a machine going down."""
    tree = [pid]
    for parent in tree:
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            tree += [int(child) for child in task.read_text().split()]
    for one in tree:
        os.kill(one, signal.SIGKILL)


@pytest.mark.parametrize("when", ["while the worker crawls", "once the crawl has drained"])
def test_a_killed_store_loses_nothing_it_took_from_redis(
    world_crawl: Crawl, single_feed: Rows, redis_url: str, tmp_path: Path, when: str
) -> None:
    """The store takes the workers' items from Redis, then dies before they are committed (the test
    holds the database's write lock, so no batch can be): the next store drains them again. Killed at
    the end, the crawl is not over either: a store declares it finished only once all it took is stored."""
    db_path = tmp_path / "monitor.db"
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=db_path)
    prefix = "storekill-" + when.split()[-1]
    env = {"MONITOR_REDIS_URL": redis_url, "MONITOR_REDIS_PREFIX": prefix, "MONITOR_LEASE_S": "2"}
    if when == "while the worker crawls":
        env |= SLOW_CRAWL
    server = redis.Redis.from_url(redis_url)
    items = f"{prefix}:feed:items"
    logs = [tmp_path / "store.log", tmp_path / "worker.log", tmp_path / "store-again.log"]
    store = start_scrapy("store", "feed", db_path=db_path, log=logs[0], **env)
    deadline = time.monotonic() + 60

    def seeded() -> bool:  # and so the run row is written
        return server.get(f"{prefix}:feed:state") == b"crawling"

    _until(seeded, store, logs[0], deadline)
    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # from here on no batch of the store is committed
    try:
        worker = start_scrapy("worker", "feed", db_path=db_path, log=logs[1], **env)
        if when == "while the worker crawls":
            _until(lambda: "Scraped from" in logs[1].read_text(errors="replace"), worker, logs[1], deadline)
        else:
            wait_all([worker], [logs[1]])  # every item is in Redis or with the store
        _until(lambda: not server.llen(items), store, logs[0], deadline)  # the store took what was sent
        time.sleep(0.5)
        assert store.poll() is None, "the store finished though it could not commit"
        _kill_with_children(store.pid)
        store.wait()
        if when == "while the worker crawls":
            assert worker.poll() is None, "the crawl ended before the store was killed"
    finally:
        lock.rollback()
        lock.close()
    # what the dead store had taken and not stored
    taken = sum(server.llen(f"{items}:taken:{n.decode()}") for n in server.zrange(f"{items}:taken", 0, -1))

    again = start_scrapy("store", "feed", db_path=db_path, log=logs[2], **env)
    wait_all([again, worker], [logs[2], logs[1]], timeout=90)
    assert_stores_what_a_single_crawl_stores(single_feed, db_path)
    assert taken > 0
    assert f"{taken} items the last store took and had not stored are drained again" in logs[2].read_text()
    assert not server.keys(f"{items}:taken*")


def test_a_store_stopped_with_ctrl_c_leaves_nothing_to_drain_twice(
    world_crawl: Crawl, single_feed: Rows, redis_url: str, tmp_path: Path
) -> None:
    """Ctrl-C (or a service stop) to the store mid-crawl: it writes what it took and forgets it, so the
    next store resumes with nothing to drain again, and no check is recorded twice."""
    db_path = tmp_path / "monitor.db"
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=db_path)
    prefix = "ctrlc"
    env = {
        "MONITOR_REDIS_URL": redis_url,
        "MONITOR_REDIS_PREFIX": prefix,
        "MONITOR_LEASE_S": "5",
        **SLOW_CRAWL,
    }
    server = redis.Redis.from_url(redis_url)
    items = f"{prefix}:feed:items"
    logs = [tmp_path / "store.log", tmp_path / "worker.log", tmp_path / "store-again.log"]
    store = start_scrapy("store", "feed", db_path=db_path, log=logs[0], **env)
    worker = start_scrapy("worker", "feed", db_path=db_path, log=logs[1], **env)
    deadline = time.monotonic() + 60
    _until(lambda: "Scraped from" in logs[1].read_text(errors="replace"), worker, logs[1], deadline)
    os.kill(worker.pid, signal.SIGSTOP)  # nothing new arrives: the store is between chunks when stopped
    try:
        _until(lambda: not server.llen(items), store, logs[0], deadline)
        time.sleep(0.5)
        store.send_signal(signal.SIGINT)
        store.wait(timeout=60)
        chunks = server.zrange(f"{items}:taken", 0, -1)
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    assert chunks == []  # all it took was written, and forgotten
    again = start_scrapy("store", "feed", db_path=db_path, log=logs[2], **env)
    wait_all([again, worker], [logs[2], logs[1]], timeout=90)
    assert "0 items the last store took and had not stored are drained again" in logs[2].read_text()
    assert_stores_what_a_single_crawl_stores(single_feed, db_path)
    assert crawl_rows(db_path)["checks"] == single_feed["checks"]  # none twice


@dataclass
class PausedStore:
    db_path: Path
    server: Any
    items: str  # the crawl's item list in Redis
    logs: list[Path]


@contextmanager
def store_paused_while_a_worker_crawls(
    world_crawl: Crawl, redis_url: str, tmp_path: Path, prefix: str
) -> Iterator[PausedStore]:
    """A store that has seeded the feed crawl, stopped (SIGSTOP) while one worker crawls everything and
    ends; the block runs then, with the workers' items queued in Redis. The store goes on (SIGCONT) when
    the block ends, and is waited for unless the block failed."""
    db_path = tmp_path / "monitor.db"
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=db_path)
    env = {"MONITOR_REDIS_URL": redis_url, "MONITOR_REDIS_PREFIX": prefix, "MONITOR_LEASE_S": "2"}
    server = redis.Redis.from_url(redis_url)
    logs = [tmp_path / "store.log", tmp_path / "worker.log"]
    store = start_scrapy("store", "feed", db_path=db_path, log=logs[0], **env)
    _until(lambda: server.get(f"{prefix}:feed:state") == b"crawling", store, logs[0], time.monotonic() + 60)
    os.kill(store.pid, signal.SIGSTOP)
    try:
        worker = start_scrapy("worker", "feed", db_path=db_path, log=logs[1], **env)
        wait_all([worker], [logs[1]])
        yield PausedStore(db_path, server, f"{prefix}:feed:items", logs)
    finally:
        os.kill(store.pid, signal.SIGCONT)
    wait_all([store], [logs[0]])


def test_a_chunk_whose_answer_was_lost_is_drained_again(
    world_crawl: Crawl, single_feed: Rows, redis_url: str, tmp_path: Path
) -> None:
    """The store's take ran in Redis but its answer never came back (a dropped connection; the retried
    command took the next chunk): the chunk sits taken, never handed on. The store finds it before it
    declares the crawl finished, and drains it again."""
    from crawler.distributed.crawl import TAKE

    with store_paused_while_a_worker_crawls(world_crawl, redis_url, tmp_path, "lostanswer") as paused:
        items = paused.items
        sent = paused.server.llen(items)
        take = paused.server.register_script(TAKE)
        taken = take(keys=[items, f"{items}:taken", f"{items}:taken:n"], args=[sent])
        assert len(taken) == sent + 1  # the chunk's number, then every item
    assert f"{sent} items taken and never handed on are drained again" in paused.logs[0].read_text()
    assert_stores_what_a_single_crawl_stores(single_feed, paused.db_path)


def test_items_drained_twice_are_stored_once(
    world_crawl: Crawl, single_feed: Rows, redis_url: str, tmp_path: Path
) -> None:
    """What a store drains again (killed before it forgot what it had committed, stopped while handing a
    chunk on) arrives twice: here every item the worker relayed is queued twice. Posts, accounts and
    validators are upserts; each check is kept once by the relay key its worker gave it."""
    with store_paused_while_a_worker_crawls(world_crawl, redis_url, tmp_path, "twice") as paused:
        relayed = paused.server.lrange(paused.items, 0, -1)
        assert any(b'"CheckItem"' in raw for raw in relayed)
        paused.server.rpush(paused.items, *relayed)
    assert_stores_what_a_single_crawl_stores(single_feed, paused.db_path)
    assert crawl_rows(paused.db_path)["checks"] == single_feed["checks"]  # none twice


@pytest.mark.parametrize("persistent", [True, False], ids=["with-its-data", "empty"])
def test_redis_restarting_mid_crawl(
    world_crawl: Crawl, single_feed: Rows, tmp_path: Path, persistent: bool
) -> None:
    """Redis stops while a worker crawls and comes back 2 s later on the same port.

    With its data (persistence): the store and the worker wait for it (every command retried, the
    scripts loaded again), and the crawl ends with what a single crawl stores. Empty (no persistence):
    the queue and the crawl's state are gone, so it can never drain; the store ends its run as
    `redis_lost` and says why, and the worker ends too."""
    db_path = tmp_path / "monitor.db"
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=db_path)
    port, data = free_port(), tmp_path / "redis"
    data.mkdir()
    redis_proc = start_redis(port, data, persistent=persistent)
    env = {
        "MONITOR_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "MONITOR_REDIS_PREFIX": "restart",
        "MONITOR_LEASE_S": "5",
        **SLOW_CRAWL,
    }
    logs = [tmp_path / "store.log", tmp_path / "worker.log"]
    try:
        store = start_scrapy("store", "feed", db_path=db_path, log=logs[0], **env)
        worker = start_scrapy("worker", "feed", db_path=db_path, log=logs[1], **env)
        deadline = time.monotonic() + 60
        _until(lambda: "Scraped from" in logs[1].read_text(errors="replace"), worker, logs[1], deadline)
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        time.sleep(2)
        assert worker.poll() is None, "the crawl ended before Redis stopped"
        redis_proc = start_redis(port, data, persistent=persistent)
        wait_all([worker, store], logs, timeout=120)
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
    if persistent:
        assert_stores_what_a_single_crawl_stores(single_feed, db_path)
        assert "Traceback" not in logs[0].read_text() + logs[1].read_text()
        return
    assert "Redis lost the distributed crawl of feed" in logs[0].read_text()
    with sqlite3.connect(db_path) as conn:
        reasons = [r[0] for r in conn.execute("SELECT finish_reason FROM runs WHERE spider = 'feed'")]
    assert reasons == ["redis_lost"]


def test_a_refusal_one_worker_meets_holds_for_every_worker(redis_url: str) -> None:
    """Run flags (a WeChat MP session under frequency control) set by one worker are seen by another,
    the first reason stands, and the store's next seeding clears them."""
    from types import SimpleNamespace

    from scrapy.settings import Settings

    from crawler.distributed.config import DistributedConfig
    from crawler.distributed.crawl import SharedCrawl
    from crawler.distributed.flags import FLAGS, SharedFlags
    from spiders.wechat.spider import MP_REFUSAL

    server = redis.Redis.from_url(redis_url)
    settings = Settings({"MONITOR_REDIS_URL": redis_url, "MONITOR_REDIS_PREFIX": "flags"})
    config = DistributedConfig.from_settings(settings)
    crawl = SharedCrawl(config, SimpleNamespace(name="wechat", settings=settings))
    one, other = (SharedFlags(server, crawl.key(FLAGS)) for _ in range(2))
    assert other.get(MP_REFUSAL) is None
    one.set(MP_REFUSAL, "MP frequency control (base_resp.ret 200013): back off")
    other.set(MP_REFUSAL, "a later reason")
    assert (
        other.get(MP_REFUSAL)
        == one.get(MP_REFUSAL)
        == "MP frequency control (base_resp.ret 200013): back off"
    )
    crawl.seed([])  # the next crawl starts without them
    assert SharedFlags(server, crawl.key(FLAGS)).get(MP_REFUSAL) is None
