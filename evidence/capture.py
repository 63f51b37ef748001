"""Capture the pages of findings that opened: plan (SQL), fetch and photograph (I/O, in a worker thread),
store each file once under evidence/ by its sha256, record the rows.

Called after detection (the detect pipeline at the end of a crawl, ``scrapy detect``) for the findings
that opened, re-opened or changed in that run, and by ``scrapy capture`` for any still without one. A
finding event is captured once: a re-run finds nothing pending. The per-file and total size caps hold
before anything is written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from core.clock import now_iso
from core.config import EvidenceConfig, MonitorConfig, browser_problem
from core.enums import EvidenceKind, Severity
from db import database_file
from db import evidence as q
from db.evidence import evidence_dir, relative_path
from evidence.fetch import Fetched, fetch_page
from evidence.pages import pages_for
from evidence.screenshot import LazyScreenshots, cjk_font_problem, screenshots

logger = logging.getLogger(__name__)

CAPTURED_SEVERITIES = (Severity.VETO, Severity.DEDUCTION)


@dataclass
class CaptureSummary:
    findings: int = 0  # findings captured in this run
    files: int = 0  # new files written
    rows: int = 0  # evidence rows recorded
    bytes_written: int = 0
    failed: int = 0  # captures that stored nothing (network error, too big…)
    pending: int = 0  # findings left for later (the total size cap, or the per-detection limit)
    capped: bool = False
    skipped: str | None = None  # why nothing ran (off, no file database)
    notes: list[str] = field(default_factory=list)


class _Store:
    """Files under evidence/, content-addressed; the total cap counts each distinct file once."""

    def __init__(self, root: Path, *, total: int, limit: int) -> None:
        self.root = root
        self.total = total
        self.limit = limit
        self.full = False
        self.written = 0
        self.new_files = 0

    def put(self, data: bytes, kind: str) -> tuple[str, str] | None:
        """(relative path, sha256), or None when the file would pass the total cap."""
        sha = hashlib.sha256(data).hexdigest()
        rel = relative_path(sha, kind)
        path = self.root / rel
        if path.exists():
            return rel, sha
        if self.total + len(data) > self.limit:
            self.full = True
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        self.total += len(data)
        self.written += len(data)
        self.new_files += 1
        return rel, sha


def _row(plan: dict[str, Any], url: str, kind: EvidenceKind, **values: Any) -> dict[str, Any]:
    return {
        "finding_id": plan["finding_id"],
        "event_id": plan["event_id"],
        "run_id": plan["run_id"],
        "url": url,
        "kind": kind.value,
        "captured_at": now_iso(),
        "truncated": 0,
        **values,
    }


def _capture_finding(plan: dict[str, Any], run: _Run) -> list[dict[str, Any]] | None:
    """The evidence rows for one finding; None when the total cap stopped it before anything was kept
    (it stays pending). Rows kept before the cap was reached stay: the finding is not captured again."""
    config, store = run.config, run.store
    rows: list[dict[str, Any]] = []
    for url in pages_for(plan, limit=config.max_urls):
        page = run.fetch(url)
        row = _page_row(plan, page, store)
        if row is None:
            return rows or None
        rows.append(row)
        if not page.body or not page.is_html:
            continue
        shot = run.shots.shoot(url, max_bytes=config.max_bytes)
        if shot is None:
            continue
        common = {"final_url": page.final_url, "http_status": page.status}
        if shot.png is None:
            rows.append(_row(plan, url, EvidenceKind.PNG, error=shot.error, **common))
            continue
        put = store.put(shot.png, EvidenceKind.PNG.value)
        if put is None:
            return rows
        rows.append(
            _row(
                plan,
                url,
                EvidenceKind.PNG,
                path=put[0],
                sha256=put[1],
                bytes=len(shot.png),
                content_type="image/png",
                **common,
            )
        )
    return rows


def _page_row(plan: dict[str, Any], page: Fetched, store: _Store) -> dict[str, Any] | None:
    """The row for a fetched body (stored), or for a fetch that got none; None when the cap is reached."""
    values: dict[str, Any] = {
        "final_url": page.final_url,
        "http_status": page.status,
        "content_type": page.content_type,
        "truncated": int(page.truncated),
        "error": page.error,
    }
    if page.body:
        put = store.put(page.body, EvidenceKind.HTML.value)
        if put is None:
            return None
        values.update(path=put[0], sha256=put[1], bytes=len(page.body))
    return _row(plan, page.url, EvidenceKind.HTML, **values)


class _Run:
    """One capture run: its settings, store, browser, and each URL fetched once (at most one fetch per
    host every ``delay_s`` seconds)."""

    def __init__(self, config: EvidenceConfig, store: _Store, shots: LazyScreenshots) -> None:
        self.config, self.store, self.shots = config, store, shots
        self.pages: dict[str, Fetched] = {}
        self.last: dict[str, float] = {}

    def fetch(self, url: str) -> Fetched:
        if url not in self.pages:
            host = urlsplit(url).netloc
            if self.config.delay_s > 0 and host in self.last:
                time.sleep(max(0.0, self.last[host] + self.config.delay_s - time.monotonic()))
            self.last[host] = time.monotonic()
            self.pages[url] = fetch_page(
                url,
                max_bytes=self.config.max_bytes,
                timeout_s=self.config.timeout_s,
                user_agent=self.config.user_agent,
            )
        return self.pages[url]


def _gather(
    plans: list[dict[str, Any]], config: EvidenceConfig, store: _Store, summary: CaptureSummary
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with screenshots(config) as shots:
        run = _Run(config, store, shots)
        for i, plan in enumerate(plans):
            got = _capture_finding(plan, run)
            if got is None:
                summary.pending = len(plans) - i
                break
            rows.extend(got)
            summary.findings += bool(got)  # a finding with no page to fetch has nothing to keep
            if store.full:
                summary.pending = len(plans) - i - 1
                break
    return rows


def capture_evidence(
    database: Database,
    config: MonitorConfig | EvidenceConfig,
    *,
    run_id: int | None = None,
    finding_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> CaptureSummary:
    """Capture every pending veto/deduction finding (of ``run_id`` when given; at most ``limit``, most
    serious first, the rest left pending); see the module doc."""
    settings = config.evidence if isinstance(config, MonitorConfig) else config
    summary = CaptureSummary()
    if not settings.enabled:
        summary.skipped = "MONITOR_EVIDENCE is off"
        return summary
    db_file = database_file(database)
    if db_file is None:
        summary.skipped = "in-memory database: no folder to keep evidence in"
        return summary
    plans = q.pending_captures(
        database, severities=CAPTURED_SEVERITIES, run_id=run_id, finding_ids=finding_ids
    )
    deferred = 0
    if limit is not None and len(plans) > limit:
        deferred, plans = len(plans) - max(limit, 0), plans[: max(limit, 0)]
        summary.pending = deferred
        summary.notes.append(f"{deferred} findings left for `scrapy capture` (MONITOR_EVIDENCE_PER_RUN)")
        logger.info("evidence: %s", summary.notes[-1])
    if not plans:
        return summary
    store = _Store(evidence_dir(db_file), total=q.stored_bytes(database), limit=settings.total_bytes)
    if store.total >= store.limit:
        summary.capped, summary.pending = True, len(plans) + deferred
        return summary
    if settings.screenshots and (problem := browser_problem(settings.chromium)):
        summary.notes.append(f"no screenshots: {problem}")
    elif settings.screenshots and (problem := cjk_font_problem()):
        summary.notes.append(problem)
        logger.warning("evidence: %s", problem)
    # Playwright's sync API refuses a thread with a running event loop (a crawl's asyncio reactor).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence") as pool:
        rows = pool.submit(_gather, plans, settings, store, summary).result()
    with database.conn:
        summary.rows = q.record_captures(database, rows)
    summary.files, summary.bytes_written = store.new_files, store.written
    summary.failed = sum(1 for r in rows if not r.get("path"))
    summary.capped = store.full
    summary.pending += deferred
    if summary.capped:
        logger.warning(
            "evidence: total size cap %s bytes reached; %s findings left without a capture",
            settings.total_bytes,
            summary.pending,
        )
    return summary
