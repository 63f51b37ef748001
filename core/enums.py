"""Every closed set of the project, defined once; SQL lists and views are generated from these.

A value stored in the database (checks.kind, checks.outcome, accounts.status, verdicts.verdict...) is
one of these members. ``db/sql.py`` renders the groups as SQL ``IN (...)`` lists and
``tests/test_closed_sets.py`` fails when a literal list anywhere in SQL or metadata drifts from them.
"""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    PORTAL = "portal"
    WECHAT = "wechat"
    WEIBO = "weibo"
    FEED = "feed"
    DOUYIN = "douyin"
    TOUTIAO = "toutiao"
    BILIBILI = "bilibili"
    CHANNELS = "channels"


class Level(StrEnum):
    NATIONAL = "国家级"
    PROVINCE = "省级"
    CITY = "市级"
    COUNTY = "县级"
    TOWN = "乡镇级"


LEVEL_ALIASES: dict[str, Level] = {
    "national": Level.NATIONAL,
    "province": Level.PROVINCE,
    "provincial": Level.PROVINCE,
    "city": Level.CITY,
    "prefecture": Level.CITY,
    "county": Level.COUNTY,
    "district": Level.COUNTY,
    "town": Level.TOWN,
    "township": Level.TOWN,
}


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"  # the account removed itself (自主注销)
    BANNED = "banned"  # the platform blocked the account (屏蔽/封禁)
    MIGRATED = "migrated"  # 已迁移 to a new account
    CLOSING = "closing"  # a closure notice announced a future date (detection's conclusion)
    CLOSED = "closed"  # a closure notice's date has passed (detection's conclusion)
    BLOCKED = "blocked"  # we could not look: captcha, rate limit, anti-spider page
    LOGIN_REQUIRED = "login_required"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"


# States a spider observes on the platform that mean "the public cannot read this account".
UNAVAILABLE_STATUSES = frozenset(
    {
        AccountStatus.DELETED,
        AccountStatus.BANNED,
        AccountStatus.BLOCKED,
        AccountStatus.LOGIN_REQUIRED,
        AccountStatus.UNREACHABLE,
        AccountStatus.MIGRATED,
    }
)
# States detection derives from a closure notice; never extended by an observation.
DERIVED_STATUSES = frozenset({AccountStatus.CLOSING, AccountStatus.CLOSED})


class CheckKind(StrEnum):
    """What a fetch was for; the kind decides which decision reads it."""

    FEED = "feed"  # an account's RSS/Atom feed
    API = "api"  # a platform API answer about an account (WeChat MP list, Weibo profile and timeline)
    LISTING = "listing"  # an account's HTML list (WeChat album page, Sogou search result)
    ARTICLE = "article"  # one post's own page or expansion (WeChat article, Weibo long text)
    PROBE = "probe"  # a portal homepage, timed: the availability indicator
    COLUMN = "column"  # a portal column's list, its further pages, a board list
    PAGE = "page"  # another portal page opened for a date or a message (article, message detail)
    LINK = "link"  # a link checked for 错链死链
    CANARY = "canary"  # the crawler's own connectivity check: says nothing about any target


# Fetches that say whether an account answered with its list: the account-level evidence of a run.
ACCOUNT_LIST_KINDS = frozenset({CheckKind.FEED, CheckKind.API, CheckKind.LISTING})


class OutcomeGroup(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    BLOCKED = "blocked"  # the target answered, but not to us: anti-spider, captcha, login wall
    UNAVAILABLE = "unavailable"  # the target did not give its content: dead, down, deleted, unreadable
    # our side: no credentials, no browser, our size cap, an unusable registry entry; concludes nothing
    CRAWLER = "crawler"


class CheckOutcome(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    NOT_FOUND = "not_found"  # 404 / 410: a dead link
    HTTP_ERROR = "http_error"  # other 4xx
    SERVER_ERROR = "server_error"  # 5xx
    TIMEOUT = "timeout"
    DNS_ERROR = "dns_error"
    REFUSED = "refused"
    TLS_ERROR = "tls_error"
    CONNECTION_ERROR = "connection_error"
    BLOCKED = "blocked"
    LOGIN_REQUIRED = "login_required"
    GONE = "gone"  # the page says the account or content is deleted / cancelled / banned
    MALFORMED = "malformed"  # answered, but not in the shape expected (bad XML, no list found, undecodable)
    EMPTY = "empty"  # 200 with nothing in it: no body, or a page without any text or link
    NOT_HTML = "not_html"  # 200, but not a web page where one was expected (an image, JSON, a download)
    REDIRECT_LOOP = "redirect_loop"  # redirected round in circles past REDIRECT_MAX_TIMES
    OVERSIZED = "oversized"  # larger than the download cap for its kind (MONITOR_MAXSIZE): not read
    INVALID_TARGET = "invalid_target"  # the target's registry entry cannot be requested (a bad option)
    NO_CREDENTIALS = "no_credentials"  # a mode that needs a login and none is configured
    NO_BROWSER = "no_browser"  # the page needs Chromium and it could not be started

    @property
    def group(self) -> OutcomeGroup:
        return OUTCOME_GROUPS[self]

    @property
    def is_ok(self) -> bool:
        return self.group in (OutcomeGroup.OK, OutcomeGroup.NOT_MODIFIED)


OUTCOME_GROUPS: dict[CheckOutcome, OutcomeGroup] = {
    CheckOutcome.OK: OutcomeGroup.OK,
    CheckOutcome.NOT_MODIFIED: OutcomeGroup.NOT_MODIFIED,
    CheckOutcome.BLOCKED: OutcomeGroup.BLOCKED,
    CheckOutcome.LOGIN_REQUIRED: OutcomeGroup.BLOCKED,
    CheckOutcome.NOT_FOUND: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.HTTP_ERROR: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.SERVER_ERROR: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.TIMEOUT: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.DNS_ERROR: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.REFUSED: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.TLS_ERROR: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.CONNECTION_ERROR: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.GONE: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.MALFORMED: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.EMPTY: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.NOT_HTML: OutcomeGroup.UNAVAILABLE,
    CheckOutcome.REDIRECT_LOOP: OutcomeGroup.UNAVAILABLE,
    # Our cap decided not to read it, and a registry entry we cannot use says nothing about the site.
    CheckOutcome.OVERSIZED: OutcomeGroup.CRAWLER,
    CheckOutcome.INVALID_TARGET: OutcomeGroup.CRAWLER,
    CheckOutcome.NO_CREDENTIALS: OutcomeGroup.CRAWLER,
    CheckOutcome.NO_BROWSER: OutcomeGroup.CRAWLER,
}


def outcomes_in(*groups: OutcomeGroup) -> frozenset[CheckOutcome]:
    return frozenset(o for o, g in OUTCOME_GROUPS.items() if g in groups)


OK_OUTCOMES = outcomes_in(OutcomeGroup.OK, OutcomeGroup.NOT_MODIFIED)
# Network-level failures: when nearly every target of a run fails this way, the crawler is offline.
NETWORK_OUTCOMES = frozenset(
    {
        CheckOutcome.TIMEOUT,
        CheckOutcome.DNS_ERROR,
        CheckOutcome.REFUSED,
        CheckOutcome.TLS_ERROR,
        CheckOutcome.CONNECTION_ERROR,
    }
)
# A link is dead (错链死链) when it answers one of these; a refusal to us is not the link's fault.
DEAD_LINK_OUTCOMES = frozenset(
    {
        CheckOutcome.NOT_FOUND,
        CheckOutcome.GONE,
        CheckOutcome.SERVER_ERROR,
        CheckOutcome.TIMEOUT,
        CheckOutcome.DNS_ERROR,
        CheckOutcome.REFUSED,
        CheckOutcome.REDIRECT_LOOP,
    }
)


class PostKind(StrEnum):
    """What a stored post is (posts.kind); the first three strings predate the enum and stay as stored."""

    ARTICLE = "article"  # a WeChat article (图文), a feed entry
    WEIBO = "weibo"  # a Weibo post of the account's own
    RETWEET = "retweet"  # a Weibo repost
    VIDEO = "video"  # a video post (WeChat item_show_type 5, a video with caption-length text)
    AUDIO = "audio"  # a voice post (<mpvoice>, item_show_type 7, a voice message in the history list)
    IMAGE = "image"  # a picture message (图片消息 / 贴图, item_show_type 8)
    TEXT = "text"  # a text-only message (item_show_type 10, a text message in the history list)


class WechatMode(StrEnum):
    """How a WeChat target's articles are listed (targets.options.mode): see docs/wechat.md."""

    MP = "mp"  # the MP back end, with the office's own login
    URLS = "urls"  # a list of article URLs
    SOGOU = "sogou"  # Sogou WeChat search (account search, article search as fallback)
    PAGE = "page"  # an HTML list page (an album, a mirror)
    HISTORY = "history"  # the msgList history page (profile_ext / getmasssendmsg)
    FEED = "feed"  # an RSS bridge: the feed spider reads it


class Severity(StrEnum):
    VETO = "veto"  # 单项否决
    DEDUCTION = "deduction"  # 扣分
    INFO = "info"  # 提示


class Verdict(StrEnum):
    QUALIFIED = "合格"
    UNQUALIFIED = "不合格"
    UNCHECKED = "无法检查"


class Coverage(StrEnum):
    """How much of a target the run that judged it could read."""

    READ = "read"  # every account-level fetch answered
    PARTIAL = "partial"  # some answered, some failed: judged on what was read
    UNREAD = "unread"  # nothing judgeable was read
    NEVER = "never"  # no run has looked at this target yet


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    ABORTED = "aborted"  # killed or crashed: marked the next time anything starts


class ProblemKind(StrEnum):
    """Crawler-side problems recorded against a run (never against a target)."""

    OFFLINE = "offline"  # the canary failed, or nearly every target failed at the network level
    NO_BROWSER = "no_browser"
    NO_CREDENTIALS = "no_credentials"
    ABORTED = "aborted"
    NO_OUTPUT = "no_output"  # the run had targets and stored no check
    ERRORS = "errors"  # a high share of the run's fetches failed or its callbacks raised
    BLOCKED = "blocked"  # a high share of the run's fetches were refused (anti-spider, login walls)
    AFTER_ABORT = "after_abort"  # the spider's previous run never finished: its state may be partial


# A run with one of these problems is not evidence for opening or resolving anything.
UNTRUSTING_PROBLEMS = frozenset({ProblemKind.OFFLINE, ProblemKind.ABORTED})


class HealthCheck(StrEnum):
    """The crawler-health monitors run at every spider's close (run_monitors.monitor)."""

    OUTPUT = "output"  # targets planned, and something stored
    ERRORS = "errors"  # share of failed fetches and raised callbacks
    BLOCKED = "blocked"  # share of refused fetches
    REACHABILITY = "reachability"  # canaries, network failures, every homepage probe
    BROWSER = "browser"  # Chromium for the pages that need it
    CREDENTIALS = "credentials"  # logins for the modes that need them
    PREVIOUS_RUN = "previous_run"  # the spider's previous run finished


class NotificationKind(StrEnum):
    """What an alert was about (notifications.kind): a finding event, or a run whose health failed."""

    FINDING = "finding"
    HEALTH = "health"


class ColumnKind(StrEnum):
    NEWS = "动态要闻"
    NOTICE = "通知公告"
    POLICY = "政策文件"
    PERSONNEL = "人事"
    PLAN = "规划计划"
    INTERACTION = "互动"
    SERVICE = "服务"
    OTHER = "其他"


class ColumnStatus(StrEnum):
    OK = "ok"
    BLANK = "blank"  # the list is there and has no item
    PARSE_FAILED = "parse_failed"  # no list markup found: never to be read as blank
    UNREACHABLE = "unreachable"


class FindingState(StrEnum):
    """Whether a finding is still open (findings_view.state)."""

    OPEN = "open"
    RESOLVED = "resolved"


class FindingEvent(StrEnum):
    """What happened to a finding in a run (finding_events.event)."""

    OPENED = "opened"
    CHANGED = "changed"  # evidence differs in more than ages
    RESOLVED = "resolved"
    REOPENED = "reopened"


class UpdateState(StrEnum):
    """How the desk groups accounts by detection's open freshness findings (account_status.update_state)."""

    ZOMBIE = "zombie"  # open account.zombie
    STALE = "stale"  # open account.no_update_14d
    UNCHECKED = "unchecked"  # verdict 无法检查
    UPDATING = "updating"  # none of these


class Scope(StrEnum):
    """What a rule judges (finding_rules.scope)."""

    ACCOUNT = "account"  # 政务新媒体
    PORTAL = "portal"  # 政府网站


class EvidenceKind(StrEnum):
    """What an evidence capture holds (evidence.kind)."""

    HTML = "html"  # the body as fetched over HTTP, byte for byte
    PNG = "png"  # a screenshot through headless Chromium


class BoardKind(StrEnum):
    CONSULTATION = "consultation"
    PETITION = "petition"  # 信访: excluded from the unanswered-message veto
    DISCIPLINE = "discipline"  # 纪检举报: excluded too
    INTERVIEW = "interview"
    SURVEY = "survey"
    OTHER = "other"


class AnswerState(StrEnum):
    """Whether a message was answered, as its board shows it (messages.answer_state)."""

    ANSWERED = "answered"  # a status word says answered (已回复, 已办结…) or a reply date is shown
    OPEN = "open"  # a status word says open (未回复, 办理中, 已受理…)
    UNKNOWN = "unknown"  # no status word and no reply date: no conclusion either way


# Every closed set a stored column holds, by name (the drift test reads this).
CLOSED_SETS: dict[str, frozenset[str]] = {
    "platform": frozenset(Platform),
    "level": frozenset(Level),
    "account_status": frozenset(AccountStatus),
    "check_kind": frozenset(CheckKind),
    "check_outcome": frozenset(CheckOutcome),
    "severity": frozenset(Severity),
    "verdict": frozenset(Verdict),
    "coverage": frozenset(Coverage),
    "run_status": frozenset(RunStatus),
    "problem": frozenset(ProblemKind),
    "health_check": frozenset(HealthCheck),
    "notification_kind": frozenset(NotificationKind),
    "column_kind": frozenset(ColumnKind),
    "column_status": frozenset(ColumnStatus),
    "board_kind": frozenset(BoardKind),
    "post_kind": frozenset(PostKind),
    "wechat_mode": frozenset(WechatMode),
    "answer_state": frozenset(AnswerState),
    "finding_state": frozenset(FindingState),
    "finding_event": frozenset(FindingEvent),
    "update_state": frozenset(UpdateState),
    "scope": frozenset(Scope),
    "evidence_kind": frozenset(EvidenceKind),
}


def parse_level(text: str | None) -> Level | None:
    """A level as the importer accepts it: 县级, or an English alias (county, district…), any case."""
    if not text:
        return None
    value = text.strip()
    if value in Level._value2member_map_:
        return Level(value)
    return LEVEL_ALIASES.get(value.lower())
