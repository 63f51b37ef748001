"""The run-wide settings every component shares, read once per crawl (or command) into one typed object.

Scrapy components call ``monitor_config(crawler)``: the first call reads the settings, later calls get
the same object, so the spider, the store, detection and the middlewares agree on the database and on
"now" (an empty MONITOR_AS_OF is fixed at the first read, not re-read as the clock moves).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.clock import iso, parse_as_of

DEFAULT_DB = "data/monitor.db"
FALSE_WORDS = ("0", "false", "no", "off")


def resolve_db_path(setting: str | None = None) -> str:
    """The database path: explicit setting, else $MONITOR_DB, else data/monitor.db."""
    return setting or os.environ.get("MONITOR_DB") or DEFAULT_DB


def _words(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(v for v in value.replace(",", " ").split() if v)
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class EvidenceConfig:
    """Evidence capture (取证) after detection: MONITOR_EVIDENCE_* settings."""

    enabled: bool = True
    max_bytes: int = 5 * 2**20  # per stored file: a longer body is cut, a bigger screenshot dropped
    total_bytes: int = 2 * 2**30  # every stored file together: past it, nothing more is captured
    max_urls: int = 3  # pages captured per finding
    # findings captured right after one detection (a first run can open thousands); the rest stay
    # pending for `scrapy capture`
    per_run: int = 200
    timeout_s: float = 15.0
    screenshots: bool = True
    screenshot_width: int = 1280
    screenshot_max_height: int = 4000
    delay_s: float = 1.0  # between two fetches of the same host
    user_agent: str = "govmedia-monitor/0.1"
    chromium: str = "chromium"
    chromium_args: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, get: Any, *, chromium: str, chromium_args: tuple[str, ...]) -> EvidenceConfig:
        return cls(
            enabled=str(get("MONITOR_EVIDENCE", True)).lower() not in FALSE_WORDS,
            max_bytes=int(get("MONITOR_EVIDENCE_MAX_BYTES", cls.max_bytes)),
            total_bytes=int(get("MONITOR_EVIDENCE_TOTAL_BYTES", cls.total_bytes)),
            max_urls=int(get("MONITOR_EVIDENCE_MAX_URLS", cls.max_urls)),
            per_run=int(get("MONITOR_EVIDENCE_PER_RUN", cls.per_run)),
            timeout_s=float(get("MONITOR_EVIDENCE_TIMEOUT_S", cls.timeout_s)),
            screenshots=str(get("MONITOR_EVIDENCE_SCREENSHOTS", True)).lower() not in FALSE_WORDS,
            screenshot_max_height=int(
                get("MONITOR_EVIDENCE_SCREENSHOT_MAX_HEIGHT", cls.screenshot_max_height)
            ),
            delay_s=float(get("MONITOR_EVIDENCE_DELAY_S", cls.delay_s)),
            user_agent=str(get("USER_AGENT", cls.user_agent)),
            chromium=chromium,
            chromium_args=chromium_args,
        )


@dataclass(frozen=True)
class HealthLimits:
    """The crawler-health thresholds (MONITOR_* settings) the checks in detection/health.py apply."""

    offline_share: float = 0.8  # this share of targets failing at the network level: offline
    offline_min_targets: int = 3  # ... once at least this many targets (or probes) were tried
    error_share: float = 0.5  # this share of fetches failing (or callbacks raising): unhealthy
    blocked_share: float = 0.5  # this share of fetches refused to us: unhealthy
    min_checks: int = 10  # shares are judged only over at least this many fetches


@dataclass(frozen=True)
class MonitorConfig:
    db_path: str
    as_of: datetime
    open_limit_s: float
    rules_path: str | None
    profile: str | None
    detect_on_close: bool
    store_batch: int
    store_flush_s: float  # buffered items are written at least this often
    store_queue: int  # batches waiting for the writer process before the crawl waits for it
    store_process: bool  # the writes in a process of their own (pipelines/writer.py)
    run_lock_wait_s: float  # a second crawl of the same spider waits this long, then skips
    canary_urls: tuple[str, ...]
    offline_share: float  # a run in which this share of its targets failed at the network level is offline
    offline_min_targets: int
    chromium: str
    evidence: EvidenceConfig
    error_share: float = 0.5  # a run in which this share of fetches failed (or callbacks raised) is unhealthy
    blocked_share: float = 0.5  # ... or this share was refused to us
    health_min_checks: int = 10  # shares are judged over at least this many fetches
    progress_s: float = 30.0  # a progress line this often (0: none)
    summary: bool = True  # print the end-of-run summary
    notify_urls: tuple[str, ...] = ()  # Apprise URLs, from $MONITOR_NOTIFY only (they hold tokens)
    notify_on_close: bool = True  # send alerts when a crawl ends (crawlall sends once, at its end)
    desk_url: str | None = None  # the desk's address, linked from alerts

    @property
    def health_limits(self) -> HealthLimits:
        return HealthLimits(
            offline_share=self.offline_share,
            offline_min_targets=self.offline_min_targets,
            error_share=self.error_share,
            blocked_share=self.blocked_share,
            min_checks=self.health_min_checks,
        )

    @property
    def as_of_iso(self) -> str:
        return iso(self.as_of)

    @classmethod
    def from_settings(cls, settings: Any) -> MonitorConfig:
        def get(name: str, default: Any = None) -> Any:
            value = settings.get(name)
            return default if value is None or value == "" else value

        launch = get("PLAYWRIGHT_LAUNCH_OPTIONS", {}) or {}
        chromium = str(launch.get("executable_path") or "chromium")
        return cls(
            db_path=resolve_db_path(get("MONITOR_DB")),
            as_of=parse_as_of(get("MONITOR_AS_OF")),
            open_limit_s=float(get("MONITOR_OPEN_LIMIT_S", 15.0)),
            rules_path=get("MONITOR_RULES"),
            profile=get("MONITOR_PROFILE"),
            detect_on_close=str(get("MONITOR_DETECT_ON_CLOSE", True)).lower() not in FALSE_WORDS,
            store_batch=int(get("MONITOR_STORE_BATCH", 5000)),
            store_flush_s=float(get("MONITOR_STORE_FLUSH_S", 2.0)),
            store_queue=max(1, int(get("MONITOR_STORE_QUEUE", 4))),
            store_process=str(get("MONITOR_STORE_PROCESS", True)).lower() not in FALSE_WORDS,
            run_lock_wait_s=float(get("MONITOR_RUN_LOCK_WAIT_S", 0)),
            canary_urls=_words(get("MONITOR_CANARY_URLS")),
            offline_share=float(get("MONITOR_OFFLINE_SHARE", 0.8)),
            offline_min_targets=int(get("MONITOR_OFFLINE_MIN_TARGETS", 3)),
            chromium=chromium,
            evidence=EvidenceConfig.from_settings(
                get, chromium=chromium, chromium_args=tuple(launch.get("args") or ())
            ),
            error_share=float(get("MONITOR_ERROR_SHARE", 0.5)),
            blocked_share=float(get("MONITOR_BLOCKED_SHARE", 0.5)),
            health_min_checks=int(get("MONITOR_HEALTH_MIN_CHECKS", 10)),
            progress_s=float(get("MONITOR_PROGRESS_S", 30.0)),
            summary=str(get("MONITOR_SUMMARY", True)).lower() not in FALSE_WORDS,
            notify_urls=notify_urls(),
            notify_on_close=str(get("MONITOR_NOTIFY_ON_CLOSE", True)).lower() not in FALSE_WORDS,
            desk_url=get("MONITOR_DESK_URL"),
        )


def notify_urls() -> tuple[str, ...]:
    """The alert channels: Apprise URLs in $MONITOR_NOTIFY, separated by spaces, commas or newlines.

    Read from the environment only, never from a setting: Scrapy logs overridden settings, and these
    URLs carry bot keys and passwords."""
    return _words(os.environ.get("MONITOR_NOTIFY", ""))


def monitor_config(crawler: Any) -> MonitorConfig:
    """The crawl's MonitorConfig, built from its settings on first use."""
    config = getattr(crawler, "_monitor_config", None)
    if config is None:
        config = MonitorConfig.from_settings(crawler.settings)
        crawler._monitor_config = config
    return config  # type: ignore[no-any-return]


# Debian's Chromium, then the one `playwright install chromium` downloads (where downloads work).
SYSTEM_CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
PLAYWRIGHT_CHROMIUM = (
    "chromium-*/chrome-linux*/chrome",
    "chromium_headless_shell-*/chrome-linux*/headless_shell",
)


def find_chromium() -> str | None:
    """The Chromium to drive: $MONITOR_CHROMIUM when set (even if it is not there: then None), else the
    system's, else Playwright's own download; None when there is none."""
    explicit = os.environ.get("MONITOR_CHROMIUM")
    if explicit:
        return explicit if browser_problem(explicit) is None else None
    for path in SYSTEM_CHROMIUM:
        if browser_problem(path) is None:
            return path
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    for pattern in PLAYWRIGHT_CHROMIUM:
        for found in sorted(root.glob(pattern), reverse=True):
            if browser_problem(str(found)) is None:
                return str(found)
    return None


def browser_problem(executable: str) -> str | None:
    """Why headless Chromium cannot start here (None when the executable is there)."""
    path = Path(executable)
    found = path if path.is_absolute() else (Path(p) if (p := shutil.which(executable)) else None)
    if found is None or not found.exists():
        return f"Chromium not found at {executable} (install Debian's chromium or set MONITOR_CHROMIUM)"
    if not os.access(found, os.X_OK):
        return f"Chromium at {found} is not executable"
    return None
