"""Foundation tables: targets, accounts, posts (+ full-text search), checks, runs, findings."""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m001_targets(db: Database) -> None:
    db.table("targets").create(
        {
            "id": int,
            "platform": str,
            "key": str,
            "name": str,
            "handle": str,
            "url": str,
            "feed_url": str,
            "org": str,
            "region_code": str,
            "region_name": str,
            "level": str,
            "tags": str,
            "active": int,
            "profile": str,
            "render": str,
            "options": str,
            "source_file": str,
            "source_line": int,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"platform", "key", "name", "active"},
        defaults={"active": 1, "tags": "[]", "options": "{}"},
    )
    db.table("targets").create_index(["platform", "key"], unique=True)
    db.table("targets").create_index(["platform", "active"])
    db.table("targets").create_index(["region_code"])
    db.table("targets").create_index(["level"])


@migrations()
def m001_runs(db: Database) -> None:
    db.table("runs").create(
        {
            "id": int,
            "spider": str,
            "started_at": str,
            "finished_at": str,
            "as_of": str,
            "finish_reason": str,
            "items": int,
            "requests": int,
            "responses": int,
            "errors": int,
            "stats": str,
        },
        pk="id",
        not_null={"spider", "started_at"},
    )
    db.table("runs").create_index(["spider", "started_at"])


@migrations()
def m001_accounts(db: Database) -> None:
    # One row per observed state: a re-check that sees the same state only moves last_seen_at.
    db.table("accounts").create(
        {
            "id": int,
            "target_id": int,
            "name": str,
            "followers": int,
            "followers_text": str,
            "verified": int,
            "verified_type": int,
            "verified_reason": str,
            "description": str,
            "posts_count": int,
            "status": str,
            "status_reason": str,
            "evidence_url": str,
            "first_seen_at": str,
            "last_seen_at": str,
            "first_run_id": int,
            "last_run_id": int,
        },
        pk="id",
        not_null={"target_id", "status", "first_seen_at", "last_seen_at"},
        foreign_keys=[
            ("target_id", "targets", "id"),
            ("first_run_id", "runs", "id"),
            ("last_run_id", "runs", "id"),
        ],
    )
    db.table("accounts").create_index(["target_id", "last_seen_at"])
    db.table("accounts").create_index(["status"])


@migrations()
def m001_posts(db: Database) -> None:
    db.table("posts").create(
        {
            "id": int,
            "target_id": int,
            "platform": str,
            "post_id": str,
            "url": str,
            "title": str,
            "text": str,
            "author": str,
            "published_at": str,
            "kind": str,
            "is_original": int,
            "is_repost": int,
            "repost_source": str,
            "is_pinned": int,
            "text_length": int,
            "image_count": int,
            "video_count": int,
            "reposts_count": int,
            "comments_count": int,
            "likes_count": int,
            "reads_count": int,
            "first_seen_at": str,
            "updated_at": str,
            "run_id": int,
        },
        pk="id",
        not_null={"target_id", "platform", "post_id"},
        defaults={"is_pinned": 0},
        foreign_keys=[("target_id", "targets", "id"), ("run_id", "runs", "id")],
    )
    db.table("posts").create_index(["target_id", "post_id"], unique=True)
    db.table("posts").create_index(["target_id", "published_at"])
    db.table("posts").create_index(["published_at"])
    # trigram: Chinese has no spaces, so the default tokenizer would index whole sentences as one word.
    db.table("posts").enable_fts(["title", "text"], create_triggers=True, tokenize="trigram")


@migrations()
def m001_checks(db: Database) -> None:
    db.table("checks").create(
        {
            "id": int,
            "run_id": int,
            "target_id": int,
            "kind": str,
            "url": str,
            "final_url": str,
            "found_on": str,
            "method": str,
            "http_status": int,
            "outcome": str,
            "ok": int,
            "latency_ms": float,
            "within_limit": int,
            "error": str,
            "checked_at": str,
        },
        pk="id",
        not_null={"kind", "url", "outcome", "ok", "checked_at"},
        foreign_keys=[("target_id", "targets", "id"), ("run_id", "runs", "id")],
    )
    db.table("checks").create_index(["target_id", "kind", "checked_at"])
    db.table("checks").create_index(["run_id"])
    db.table("checks").create_index(["outcome"])


@migrations()
def m001_findings(db: Database) -> None:
    db.table("findings").create(
        {
            "id": int,
            "target_id": int,
            "rule": str,
            "subject": str,
            "label": str,
            "severity": str,
            "indicator": str,
            "evidence": str,
            "first_seen_at": str,
            "last_seen_at": str,
            "resolved_at": str,
            "first_run_id": int,
            "last_run_id": int,
        },
        pk="id",
        not_null={"target_id", "rule", "subject", "severity", "first_seen_at", "last_seen_at"},
        defaults={"subject": ""},
        foreign_keys=[
            ("target_id", "targets", "id"),
            ("first_run_id", "runs", "id"),
            ("last_run_id", "runs", "id"),
        ],
    )
    db.table("findings").create_index(["target_id", "rule", "subject"], unique=True)
    db.table("findings").create_index(["rule", "resolved_at"])
    db.table("findings").create_index(["severity"])
    db.table("findings").create_index(["last_seen_at"])
