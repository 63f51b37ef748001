"""The item dataclasses every spider yields; field names equal the database column names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.enums import AccountStatus, AnswerState, ColumnKind, ColumnStatus, ProblemKind


@dataclass
class PostItem:
    """One post, article or feed entry of a monitored account."""

    target_id: int
    platform: str
    post_id: str
    url: str | None = None
    title: str | None = None
    # Plain text: a spider reads what its source sends as HTML (core.text.summarize_html) once; the
    # normalize stage only folds its whitespace.
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
    # Identities a page names: kept on the account once seen (an observation without them keeps them).
    gh_id: str | None = None  # WeChat 原始ID (gh_…)
    wechat_id: str | None = None  # WeChat 微信号 (the account's handle)
    timeline_containerid: str | None = None  # the Weibo timeline container the profile names


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
    # Distributed mode: the key the relaying worker gave it, so a check drained twice is stored once
    # (db/migrations/m160_check_relay_key.py). None on a single machine.
    relay_key: str | None = None


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
    board_kind: str | None = None  # a message board's kind (BoardKind); None for other columns
    oldest_item_at: str | None = None  # a board: the oldest message date among the pages read
    truncated: int | None = None  # a board: 1 = pages that could hold older messages were not read


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
    answered_at: str | None = None  # None: no reply date shown (answer_state says whether answered)
    reply_text: str | None = None
    answer_state: str = AnswerState.UNKNOWN


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
class BatchItem:
    """Items of one answer yielded as one: Scrapy's machinery costs per item (the spider middlewares, the
    pipeline chain, the item_scraped signal), so a feed page (its check, its account, 30 entries, its
    validator) pays it once. The pipelines treat each of ``items`` as the item it is (normalized,
    stored, dropped and counted one by one)."""

    target_id: int
    items: list[Any] = field(default_factory=list)


@dataclass
class AccountSeenItem:
    """The account was re-checked and nothing changed (HTTP 304, or no new post): move last_seen_at."""

    target_id: int


@dataclass(frozen=True)
class RunProblem:
    """A problem on the crawler's side, recorded against a run (a run_problems row)."""

    problem: ProblemKind
    detail: str
    count: int = 1
    blocks_trust: bool = False  # the run's data may not open or resolve findings


@dataclass
class RunSummary:
    """What a run fetched, as the health assessment reads it."""

    run_id: int
    targets: int = 0  # targets with at least one target-side check
    network_failed_targets: int = 0  # targets whose every check failed at the network level
    canaries: int = 0
    canaries_failed: int = 0
    crawler_outcomes: dict[str, int] = field(default_factory=dict)
    crawler_examples: dict[str, str] = field(default_factory=dict)
    planned: int | None = None  # targets the spider set out to check (None: not counted)
    items: int = 0  # items the run stored, checks included
    checks: int = 0  # target-side fetches (not canaries, not link checks)
    failed_checks: int = 0  # ... whose target did not give its content (the unavailable group)
    blocked_checks: int = 0  # ... refused to us (the blocked group)
    exceptions: int = 0  # callbacks that raised
    probes: int = 0  # portal homepage probes
    probes_failed: int = 0
    previous_status: str | None = None  # the status of the same spider's run before this one
    previous_run_id: int | None = None


@dataclass(frozen=True)
class HealthResult:
    """One crawler-health monitor's answer for a run (a run_monitors row)."""

    monitor: str  # a HealthCheck
    passed: bool
    detail: str
