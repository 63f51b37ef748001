"""The item dataclasses every spider yields; field names equal the database column names."""

from __future__ import annotations

from dataclasses import dataclass
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


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"  # the account removed itself (自主注销)
    BANNED = "banned"  # the platform blocked the account (屏蔽/封禁)
    MIGRATED = "migrated"  # 已迁移 to a new account
    CLOSING = "closing"  # a closure notice announced a future date
    CLOSED = "closed"  # a closure notice's date has passed
    BLOCKED = "blocked"  # we could not look: captcha, rate limit, anti-spider page
    LOGIN_REQUIRED = "login_required"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"


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
    MALFORMED = "malformed"  # answered, but not in the shape expected (bad XML, no list found)


OK_OUTCOMES = frozenset({CheckOutcome.OK, CheckOutcome.NOT_MODIFIED})


@dataclass
class PostItem:
    """One post, article or feed entry of a monitored account."""

    target_id: int
    platform: str
    post_id: str
    url: str | None = None
    title: str | None = None
    text: str | None = None
    author: str | None = None
    published_at: str | None = None
    kind: str | None = None
    is_original: int | None = None
    is_repost: int | None = None
    repost_source: str | None = None
    is_pinned: int = 0
    text_length: int | None = None
    image_count: int | None = None
    video_count: int | None = None
    reposts_count: int | None = None
    comments_count: int | None = None
    likes_count: int | None = None
    reads_count: int | None = None


@dataclass
class AccountItem:
    """The observed profile state of a target's account."""

    target_id: int
    status: str = AccountStatus.ACTIVE
    name: str | None = None
    followers: int | None = None
    followers_text: str | None = None
    verified: int | None = None
    verified_type: int | None = None
    verified_reason: str | None = None
    description: str | None = None
    posts_count: int | None = None
    status_reason: str | None = None
    evidence_url: str | None = None


@dataclass
class CheckItem:
    """One HTTP probe or fetch and what came of it."""

    kind: str
    url: str
    outcome: str
    target_id: int | None = None
    http_status: int | None = None
    latency_ms: float | None = None
    final_url: str | None = None
    found_on: str | None = None
    method: str = "GET"
    error: str | None = None
    within_limit: int | None = None
    checked_at: str | None = None


# --- portal items (issue 3: sites, columns, column_items, messages) ------------------------------


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


class BoardKind(StrEnum):
    CONSULTATION = "consultation"
    PETITION = "petition"  # 信访: excluded from the unanswered-message veto
    DISCIPLINE = "discipline"  # 纪检举报: excluded too
    INTERVIEW = "interview"
    SURVEY = "survey"
    OTHER = "other"


@dataclass
class SiteItem:
    """A portal's identity and homepage freshness, as the homepage shows them."""

    target_id: int
    homepage_url: str
    final_url: str | None = None
    site_name: str | None = None
    site_domain: str | None = None
    site_id_code: str | None = None
    site_id_code_valid: int | None = None
    encoding: str | None = None
    cms: str | None = None
    icp: str | None = None
    police_record: str | None = None
    organizer: str | None = None
    homepage_items: int | None = None
    homepage_undated: int | None = None
    homepage_newest_at: str | None = None
    checked_at: str | None = None


@dataclass
class ColumnItem:
    """One portal column (栏目) and what its list showed in this run."""

    target_id: int
    url: str
    name: str | None = None
    kind: str = ColumnKind.OTHER
    kind_rule: str | None = None
    column_type: str | None = None
    source: str | None = None
    status: str = ColumnStatus.OK
    item_count: int | None = None
    undated_count: int | None = None
    newest_item_at: str | None = None
    pages_followed: int | None = None
    rendered: int = 0
    error: str | None = None
    checked_at: str | None = None


@dataclass
class ColumnEntryItem:
    """One row of a column list; the writer finds the column's id by (target_id, column_url)."""

    target_id: int
    column_url: str
    url: str
    title: str | None = None
    published_at: str | None = None
    date_source: str = "list"  # list / pubdate_meta / page / none


@dataclass
class MessageItem:
    """One citizen message on a board (领导信箱 / 政民互动 / 网上咨询)."""

    target_id: int
    board_url: str
    board_kind: str
    message_id: str
    url: str | None = None
    title: str | None = None
    category: str | None = None
    unit: str | None = None
    status: str | None = None
    asked_at: str | None = None
    answered_at: str | None = None  # None: still open
    reply_text: str | None = None


# --- account platform items (issue 4: WeChat, Weibo) ---------------------------------------------


@dataclass
class ValidatorItem:
    """HTTP validators of a fetched URL (ETag / Last-Modified), kept for the next conditional request.

    Yielded only after the response was fully processed, so a failed parse never hides content behind a 304.
    """

    url: str
    target_id: int | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class AccountSeenItem:
    """The account was re-checked and nothing changed (HTTP 304, or no new post): move last_seen_at."""

    target_id: int


# --- detection items (issue 5) ------------------------------------------------------------------
