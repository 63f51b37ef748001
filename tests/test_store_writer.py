"""The store's writer process: batches land in order, and nothing is lost when the process dies."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from core.clock import now_iso, parse_iso
from core.items import CheckItem, PostItem
from db import open_db, runs
from detection.features import hash_window_start
from detection.rules.config import load_rules
from pipelines.writer import Batch, BatchWriter, ProcessWriter, batch_entry
from tests.conftest import Crawl
from tests.helpers import AS_OF, run_scrapy
from tests.redis_helpers import crawl_rows


def _db_with_target(path: Path) -> int:
    db = open_db(path)
    with db.conn:
        db.execute(
            "INSERT INTO targets (platform, key, name, active, created_at, updated_at) "
            "VALUES ('feed', 'k1', '测试账号', 1, ?, ?)",
            [now_iso(), now_iso()],
        )
    run_id = runs.start_run(db, spider="feed", started_at=now_iso(), as_of=None)
    db.close()
    return run_id


def _batch(start: int, n: int) -> Batch:
    seen = now_iso()
    rows: Batch = []
    for i in range(start, start + n):
        post = PostItem(target_id=1, platform="feed", post_id=f"p{i}", title=f"标题{i}", text=f"正文{i}")
        rows.append(batch_entry(post, seen))
    check = CheckItem(
        target_id=1,
        kind="feed",
        url=f"http://127.0.0.1/{start}",
        outcome="ok",
        http_status=200,
        checked_at=now_iso(),
    )
    rows.append(batch_entry(check, seen))
    return rows


def _counts(path: Path) -> tuple[int, int, int, int]:
    db = open_db(path)
    try:
        return tuple(  # type: ignore[return-value]
            db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("posts", "checks", "posts_fts", "post_features")
        )
    finally:
        db.close()


def test_the_writer_process_writes_every_batch(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    run_id = _db_with_target(path)
    writer = ProcessWriter(path, run_id, depth=2)
    child = writer.proc.pid
    for b in range(10):
        writer.submit(_batch(b * 100, 100))
    counts = writer.finish()
    assert writer.proc.returncode == 0
    assert writer.proc.pid == child
    assert "monitor/store/writer_process_lost" not in counts
    assert _counts(path) == (1000, 10, 1000, 1000)


def test_a_killed_writer_process_loses_nothing(tmp_path: Path) -> None:
    """kill -9 the child between batches: what it had not acknowledged, and every later batch, is
    written by the crawl's own process; no post is lost or stored twice."""
    path = tmp_path / "monitor.db"
    run_id = _db_with_target(path)
    writer = ProcessWriter(path, run_id, depth=4)
    for b in range(5):
        writer.submit(_batch(b * 100, 100))
    os.kill(writer.proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while writer.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    for b in range(5, 10):
        writer.submit(_batch(b * 100, 100))
    counts = writer.finish()
    assert counts["monitor/store/writer_process_lost"] == 1
    posts, checks, fts, features = _counts(path)
    assert (posts, fts, features) == (1000, 1000, 1000)
    assert 10 <= checks <= 11  # a batch committed in the instant before its acknowledgement may repeat
    db = open_db(path)
    assert db.execute("SELECT count(DISTINCT post_id) FROM posts").fetchone()[0] == 1000
    db.close()


def test_a_row_that_breaks_a_constraint_is_lost_alone_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    run_id = _db_with_target(path)
    batch = _batch(0, 3)
    bad = PostItem(target_id=999, platform="feed", post_id="orphan")  # no such target
    batch.append(batch_entry(bad, now_iso()))
    writer = ProcessWriter(path, run_id, depth=1)
    writer.submit(batch)
    counts = writer.finish()
    assert counts["monitor/dropped/integrity_error"] == 1
    assert _counts(path)[:2] == (3, 1)
    inline = BatchWriter(open_db(path), run_id)  # the same writes in the crawl's process
    inline.write(_batch(10, 2))
    assert _counts(path)[:2] == (5, 2)


def test_features_the_writer_computes_are_what_detection_computes(crawl_copy: Path) -> None:
    """The demo world's posts were queued judged and hashed by the writer process; forget that, let
    `scrapy detect` judge and hash them itself: the same notices, the same SimHashes, the same findings."""

    def snapshot() -> tuple[list[tuple], list[tuple]]:
        db = open_db(crawl_copy)
        try:
            features = db.execute(
                "SELECT post_rowid, notice_checked, notice, simhash, published_at FROM post_features "
                "WHERE published_at >= '2025-07-01' ORDER BY post_rowid"
            ).fetchall()
            found = db.execute(
                "SELECT target_id, rule, subject, severity, points, resolved_at IS NULL FROM findings "
                "ORDER BY 1, 2, 3"
            ).fetchall()
            return features, found
        finally:
            db.close()

    run_scrapy("detect", db_path=crawl_copy)
    by_writer, found_before = snapshot()
    assert any(notice for _, _, notice, _, _ in by_writer)  # the world's closure notices among them
    assert all(checked == 1 for _, checked, _, _, _ in by_writer)
    # The writer hashes what this run's near-duplicate window compares, not the older history.
    window = hash_window_start(load_rules(), parse_iso(AS_OF))
    assert all((h is not None) == (at >= window) for _, _, _, h, at in by_writer)
    assert any(h is None for _, _, _, h, _ in by_writer)
    db = open_db(crawl_copy)
    with db.conn:
        db.execute("UPDATE post_features SET notice_checked = 0, notice = NULL, simhash = NULL")
    db.close()
    run_scrapy("detect", db_path=crawl_copy)
    by_detection, found_after = snapshot()
    # Detection hashes its near-duplicate window too: the same posts, the same values.
    assert [row[:3] for row in by_detection] == [row[:3] for row in by_writer]
    hashed = {row[0]: row[3] for row in by_detection if row[3] is not None}
    assert hashed
    assert hashed == {row[0]: row[3] for row in by_writer if row[3] is not None}
    assert found_after == found_before


def test_a_post_the_classifier_cannot_read_is_left_to_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer never loses a post to the classifier: it is queued unjudged (detection judges it again
    and records the error there); an undated post is queued unjudged too."""
    import detection.features as features

    def broken(*args: object) -> object:
        raise ValueError("classifier broke")

    monkeypatch.setattr(features, "classify_notice", broken)
    judged, notice, hashed = features.post_features(
        "关停公告", "本账号将于7月1日停止运营。", "2026-06-01T10:00:00+08:00"
    )
    assert (judged, notice) == (False, None)
    assert hashed == features.text_simhash("关停公告", "本账号将于7月1日停止运营。")
    assert features.post_features("标题", "正文", None)[:2] == (False, None)
    # hashed from the run's duplicate window on; undated posts are in no window
    since = "2026-06-01T00:00:00+08:00"
    assert features.post_features("标题", "正文", "2026-05-31T23:59:59+08:00", since)[2] is None
    assert features.post_features("标题", "正文", since, since)[2] == features.text_simhash("标题", "正文")
    assert features.post_features("标题", "正文", None, since)[2] is None
    assert features.post_features("本周工作动态", "召开会议。", "2026-06-01T10:00:00+08:00")[:2] == (
        True,
        None,
    )


def test_a_crawl_writing_in_its_own_process_stores_what_the_writer_process_stores(
    world_crawl: Crawl, tmp_path: Path
) -> None:
    """MONITOR_STORE_PROCESS=0: `scrapy crawl feed` writes inline, with the same rows as the session's
    crawl through the writer process (posts, accounts), and queues its posts for detection judged and
    hashed alike."""
    db_path = tmp_path / "monitor.db"
    run_scrapy("import-targets", str(world_crawl.world.targets_file), db_path=db_path)
    run_scrapy("crawl", "feed", db_path=db_path, MONITOR_STORE_PROCESS="0", MONITOR_DETECT_ON_CLOSE="0")

    def features(path: Path, targets: set[int]) -> set[tuple]:
        db = open_db(path)
        try:
            rows = db.execute(
                "SELECT p.target_id, p.post_id, f.notice_checked, f.notice, f.simhash FROM post_features f "
                "JOIN posts p ON p.id = f.post_rowid"
            ).fetchall()
        finally:
            db.close()
        return {r for r in rows if r[0] in targets}

    db = open_db(db_path)
    try:
        feed_targets = {r[0] for r in db.execute("SELECT id FROM targets WHERE feed_url IS NOT NULL")}
    finally:
        db.close()
    # the same queue rows, judged and hashed by the same writer code, in either process
    assert features(db_path, feed_targets) == features(world_crawl.db_path, feed_targets)
    inline, through_writer = crawl_rows(db_path), crawl_rows(world_crawl.db_path)
    assert sum(inline["posts"].values()) > 0
    for table in ("posts", "accounts"):
        assert inline[table] == Counter(
            {k: n for k, n in through_writer[table].items() if k[0] in feed_targets}
        ), table


def test_the_writer_process_outlives_ctrl_c_and_a_service_stop(tmp_path: Path) -> None:
    """SIGINT / SIGTERM reach the whole process group; the writer ignores them and ends when the
    crawl, stopping gracefully, closes its stdin: every batch written, none taken over."""
    path = tmp_path / "monitor.db"
    run_id = _db_with_target(path)
    writer = ProcessWriter(path, run_id, depth=2)
    writer.submit(_batch(0, 100))
    deadline = time.monotonic() + 30
    while writer.pending and time.monotonic() < deadline:  # acknowledged: past its signal handlers
        time.sleep(0.02)
    assert not writer.pending
    for sig in (signal.SIGINT, signal.SIGTERM):
        os.kill(writer.proc.pid, sig)
    time.sleep(0.2)
    assert writer.proc.poll() is None
    writer.submit(_batch(100, 100))
    counts = writer.finish()
    assert writer.proc.returncode == 0
    assert "monitor/store/writer_process_lost" not in counts
    assert _counts(path)[:2] == (200, 2)
