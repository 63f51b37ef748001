"""Scrapy settings for govmedia-monitor; project settings carry the MONITOR_ prefix."""

from __future__ import annotations

import os

from core.config import find_chromium

BOT_NAME = "govmedia_monitor"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"
COMMANDS_MODULE = "crawler.commands"

# --- project settings ---------------------------------------------------------------------------
MONITOR_DB = os.environ.get("MONITOR_DB", "data/monitor.db")
# The check time detection compares against (ISO date or datetime); empty means "now".
MONITOR_AS_OF = os.environ.get("MONITOR_AS_OF", "")
MONITOR_CONTACT_URL = os.environ.get(
    "MONITOR_CONTACT_URL", "https://github.com/govmedia-monitor/govmedia-monitor"
)
# Items are written in short transactions: a batch of this many items, or what arrived in
# MONITOR_STORE_FLUSH_S seconds, whichever comes first (and at close). No transaction spans a download.
MONITOR_STORE_BATCH = 5000
MONITOR_STORE_FLUSH_S = 2.0
# The writes run in a process of their own (pipelines/writer.py), SQLite on another core than the
# crawl; MONITOR_STORE_QUEUE batches may wait for it. MONITOR_STORE_PROCESS=0 writes in the crawl's process.
MONITOR_STORE_PROCESS = os.environ.get("MONITOR_STORE_PROCESS", "1")
MONITOR_STORE_QUEUE = 4
# One `scrapy crawl <spider>` at a time per database: a second one waits this many seconds for the
# first to end, then skips with a log line (0 = skip at once; cron overlaps are harmless).
MONITOR_RUN_LOCK_WAIT_S = float(os.environ.get("MONITOR_RUN_LOCK_WAIT_S", "0"))
# Is the crawler itself offline? Canary URLs (space-separated; e.g. "https://www.gov.cn/
# https://www.baidu.com/") are fetched first in every run: when all fail, the run is offline and its
# data concludes nothing. Without canaries, a run in which at least MONITOR_OFFLINE_SHARE of at least
# MONITOR_OFFLINE_MIN_TARGETS targets failed at the network level is taken to be offline.
MONITOR_CANARY_URLS = os.environ.get("MONITOR_CANARY_URLS", "")
MONITOR_OFFLINE_SHARE = 0.8
MONITOR_OFFLINE_MIN_TARGETS = 3
# A probe that has not answered within this many seconds fails the indicator's 15 s limit.
MONITOR_OPEN_LIMIT_S = 15.0

USER_AGENT = f"govmedia-monitor/0.1 (+{MONITOR_CONTACT_URL})"

# Inspection is about what the public sees; robots.txt would also cost one request per site.
ROBOTSTXT_OBEY = False

# Never let a cache answer a probe or a list page: it would hide an outage.
HTTPCACHE_ENABLED = False

# Politeness: few requests per site, adaptive delay, per-platform slots for the big platforms.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_SLOTS = {
    "m.weibo.cn": {"concurrency": 1, "delay": 8.0, "randomize_delay": True},
    "mp.weixin.qq.com": {"concurrency": 1, "delay": 5.0, "randomize_delay": True},
    "weixin.sogou.com": {"concurrency": 1, "delay": 15.0, "randomize_delay": True},
}
DOWNLOAD_TIMEOUT = 20
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

ITEM_PIPELINES = {
    "pipelines.normalize.NormalizePipeline": 100,
    "pipelines.store.StorePipeline": 800,
}

# --- distributed mode (docs/distributed.md): off unless MONITOR_REDIS_URL is set ---------------------
# MONITOR_ROLE: worker (default) or store. Per-host limits shared by every worker default to the
# politeness above (MONITOR_HOST_CONCURRENCY, MONITOR_HOST_DELAY_S, MONITOR_HOST_SLOTS override them).
MONITOR_REDIS_URL = os.environ.get("MONITOR_REDIS_URL", "")
MONITOR_ROLE = os.environ.get("MONITOR_ROLE", "")
MONITOR_REDIS_PREFIX = os.environ.get("MONITOR_REDIS_PREFIX", "govmedia")
MONITOR_LEASE_S = float(os.environ.get("MONITOR_LEASE_S", "60"))
MONITOR_WORKER_WAIT_S = 300.0
ADDONS = {"crawler.distributed.addon.DistributedAddon": 0}

# Per-item costs Scrapy pays that buy nothing here: the pipelines are synchronous, so processing a
# response's output in 100 parallel tasks only schedules tasks; the return-value check re-parses a
# callback's source for every response (bound methods defeat its cache); the spiders' tests cover what
# it would warn about.
CONCURRENT_ITEMS = 1
WARN_ON_GENERATOR_RETURN_VALUE = False

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no listening ports from a cron job
LOG_LEVEL = os.environ.get("MONITOR_LOG_LEVEL", "INFO")
LOG_FORMATTER = "crawler.logformat.QuietLogFormatter"
FEED_EXPORT_ENCODING = "utf-8"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# The offline demo world on loopback (make demo, tests, benchmarks): nobody to be polite to.
if os.environ.get("MONITOR_LOCAL_WORLD") == "1":
    DOWNLOAD_DELAY = 0
    AUTOTHROTTLE_ENABLED = False
    CONCURRENT_REQUESTS = 32
    CONCURRENT_REQUESTS_PER_DOMAIN = 32
    DOWNLOAD_SLOTS = {}
    DOWNLOAD_TIMEOUT = 5
    RETRY_TIMES = 1

# --- Playwright: only spiders with `uses_browser = True` install its download handler (spiders/base.py),
# and even there only requests with meta={"playwright": True} go through the browser.
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    # $MONITOR_CHROMIUM, else Debian's /usr/bin/chromium, else Playwright's own download (make install
    # looks for one); when there is none, pages that need it are no_browser checks (crawler-side).
    "executable_path": os.environ.get("MONITOR_CHROMIUM") or find_chromium() or "/usr/bin/chromium",
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ],
}
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 20_000
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4

# --- portal monitoring -----------------------------------------------------------------
# Pages of one column list followed at most (index_1.html, createPageHTML, ?page=, Hanweb dataproxy.jsp).
MONITOR_PORTAL_MAX_PAGES = 5
MONITOR_PORTAL_MAX_COLUMNS = 60
# Undated list rows whose article page is opened for its PubDate (per column).
MONITOR_PORTAL_ARTICLE_DATES = 30
# Dated articles per column opened anyway, so their attachments and links get checked (depth 3).
MONITOR_PORTAL_LINK_ARTICLES = 2
# 1 = homepage links only, 2 = + column pages, 3 = + the opened article pages.
MONITOR_PORTAL_LINK_DEPTH = 3
MONITOR_PORTAL_CHECK_LINKS = True
MONITOR_PORTAL_LINK_TIMEOUT_S = 10.0
# Message boards: list pages are followed, one after another, until one shows a message older than the
# unanswered-message rule's months (rules file) plus MONITOR_BOARD_MARGIN_DAYS, or this many pages were read
# (then the board is recorded as truncated: columns.truncated = 1). A busy board lists ~15 messages a page
# and hundreds a month.
MONITOR_BOARD_MAX_PAGES = 40
MONITOR_BOARD_MARGIN_DAYS = 31
# Message pages opened per board: old messages not answered by their list row first, then undated ones,
# then old answered ones (to see whether the answer came late).
MONITOR_PORTAL_MAX_MESSAGES = 50
# Extra column classification rules checked before the built-in table (spiders/portal.py
# DEFAULT_COLUMN_RULES), as JSON: [["my.rule", "name", "政务公开", "政策文件"], ...]
MONITOR_PORTAL_COLUMN_RULES = os.environ.get("MONITOR_PORTAL_COLUMN_RULES", "")
if os.environ.get("MONITOR_LOCAL_WORLD") == "1":
    MONITOR_PORTAL_LINK_TIMEOUT_S = 2.0

# --- account platforms ---------------------------------------------------
# Platform base URLs; a target's options (mp_base, sogou_base, weibo_base) override them, which is how
# the demo world's targets point the same spiders at 127.0.0.1.
MONITOR_WECHAT_MP_BASE = "https://mp.weixin.qq.com"
MONITOR_SOGOU_BASE = "https://weixin.sogou.com"
MONITOR_WEIBO_BASE = "https://m.weibo.cn"
# Credentials are NOT settings: the spiders read MONITOR_WECHAT_TOKEN, MONITOR_WECHAT_COOKIE and
# MONITOR_WEIBO_COOKIE from the environment, so Scrapy never logs them as overridden settings.
# List paging: at most this many pages per account on a first crawl (later crawls stop at a known post).
MONITOR_LIST_MAX_PAGES = 10
# WeChat: also fetch each new article page (text length, images, 原创 mark, repost source...).
MONITOR_WECHAT_FETCH_ARTICLES = True
# Retries: wait Retry-After (capped) on 429/503, else base * 2**attempt seconds on 5xx/429.
MONITOR_RETRY_AFTER_MAX = 120.0
MONITOR_RETRY_BACKOFF_BASE = 2.0
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
    # Before the download handler: a page that needs Chromium where there is none is the crawler's problem.
    "crawler.middlewares.BrowserGuardMiddleware": 900,
    # Each request's byte cap by what it is for (MONITOR_MAXSIZE), before the handler reads it.
    "crawler.limits.SizeCapMiddleware": 910,
    # Last word on the Referer, after the redirect and referer middlewares: no credential in it.
    "crawler.referer.RefererGuardMiddleware": 920,
    # Next to the downloader: sees every attempt, retries included.
    "crawler.middlewares.AccountingMiddleware": 950,
}
# Closest to the spider: a callback that raises still leaves its answer's check (malformed).
SPIDER_MIDDLEWARES = {"crawler.guard.ParseGuardMiddleware": 950}
if os.environ.get("MONITOR_LOCAL_WORLD") == "1":
    MONITOR_RETRY_AFTER_MAX = 2.0
    MONITOR_RETRY_BACKOFF_BASE = 0.0

# --- limits (docs/robustness.md) -------------------------------------------------------------------
# Bytes read at most per answer: per kind of fetch (crawler/limits.py DEFAULT_CAPS, overridden by
# MONITOR_MAXSIZE = {"column": ...}), else DOWNLOAD_MAXSIZE. A larger answer is an `oversized` check.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
MONITOR_MAXSIZE: dict[str, int] = {}
# Redirects followed per request; past this the answer is a `redirect_loop` check.
REDIRECT_MAX_TIMES = 10
# The browsers' default; crawler.referer.RefererGuardMiddleware also keeps credentials out of Referers.
REFERRER_POLICY = "strict-origin-when-cross-origin"

# --- detection -------------------------------------------------------------------------------------
# The rules file (thresholds, labels, severities, profiles); empty means detection/rules/indicators.yaml.
MONITOR_RULES = os.environ.get("MONITOR_RULES", "")
# Judge every target under this profile instead of its own (targets.profile / region); empty = per target.
MONITOR_PROFILE = os.environ.get("MONITOR_PROFILE", "")
# Run detection for the crawled targets when a crawl ends (pipelines.detect.DetectPipeline).
MONITOR_DETECT_ON_CLOSE = os.environ.get("MONITOR_DETECT_ON_CLOSE", "1") == "1"
ITEM_PIPELINES = {**ITEM_PIPELINES, "pipelines.detect.DetectPipeline": 300}

# --- evidence capture (取证) --------------------------------------------------------------
# After detection, each veto or deduction finding that opened (or re-opened, or whose evidence changed)
# gets a timestamped copy of its pages: the body as fetched and a Chromium screenshot, in an evidence/
# folder beside the database (evidence table, migration m090). Off: MONITOR_EVIDENCE=0.
MONITOR_EVIDENCE = os.environ.get("MONITOR_EVIDENCE", "1")
MONITOR_EVIDENCE_MAX_BYTES = 5 * 2**20  # per stored file
MONITOR_EVIDENCE_TOTAL_BYTES = 2 * 2**30  # every stored file together
MONITOR_EVIDENCE_MAX_URLS = 3  # pages per finding
MONITOR_EVIDENCE_PER_RUN = 200  # findings captured after one detection; the rest wait for `scrapy capture`
MONITOR_EVIDENCE_TIMEOUT_S = 15.0
MONITOR_EVIDENCE_SCREENSHOTS = True
MONITOR_EVIDENCE_SCREENSHOT_MAX_HEIGHT = 4000  # pixels of a full-page screenshot
MONITOR_EVIDENCE_DELAY_S = 1.0  # between two captures on the same host
if os.environ.get("MONITOR_LOCAL_WORLD") == "1":
    MONITOR_EVIDENCE_DELAY_S = 0.0
    MONITOR_EVIDENCE_TIMEOUT_S = 2.0  # as the link checker: the planted slow page takes 3 s

# --- operations: crawler health, alerts, a run you can read -------------------------------
# Crawler-health monitors (Spidermon, run in the store's close step; decisions in detection/health.py).
# This share of a run's fetches failing (or its callbacks raising), or refused to us, fails its health;
# shares are judged over at least MONITOR_HEALTH_MIN_CHECKS fetches (link checks and canaries aside).
MONITOR_ERROR_SHARE = 0.5
MONITOR_BLOCKED_SHARE = 0.5
MONITOR_HEALTH_MIN_CHECKS = 10
# Alerts go to the Apprise URLs in $MONITOR_NOTIFY (environment only: they hold keys). A crawl sends
# them when it ends; `scrapy crawlall` turns that off for its spiders and sends once at its end.
MONITOR_NOTIFY_ON_CLOSE = True
# The desk's address, linked from alerts (optional).
MONITOR_DESK_URL = os.environ.get("MONITOR_DESK_URL", "")
# A progress line per spider this often (seconds; 0 = none), and a summary at the end.
MONITOR_PROGRESS_S = float(os.environ.get("MONITOR_PROGRESS_S", "30"))
MONITOR_SUMMARY = True
EXTENSIONS = {"crawler.runlog.RunLog": 500, "crawler.heap.CollectorTuning": 0}
# The garbage collector's pace during a crawl (crawler/heap.py): the youngest generation collected every
# this many allocations (Python's default: 700), what the process built before the engine started frozen.
MONITOR_GC_TUNE = True
MONITOR_GC_THRESHOLD = 30_000
# Scrapy's own INFO lines (components, overridden settings, versions, the stats dump) show at DEBUG only
# (crawler/logs.py): MONITOR_LOG_LEVEL=DEBUG brings them back. The stats are kept in `runs` either way.
if LOG_LEVEL.upper() != "DEBUG":
    LOG_VERSIONS: list[str] = []
    # Scrapy formats the stats dump before the log level discards it: ~0.1 s at close with 2,000 targets'
    # per-target counters, for a line nobody sees.
    STATS_DUMP = False
