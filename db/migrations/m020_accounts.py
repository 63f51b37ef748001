"""Account-platform tables: HTTP validators for conditional requests, and what each target cost per run."""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m020_http_validators(db: Database) -> None:
    # One row per URL that answered with an ETag or Last-Modified; sent back as If-None-Match /
    # If-Modified-Since so an unchanged list page costs a 304 and no parsing.
    db.table("http_validators").create(
        {
            "id": int,
            "url": str,
            "target_id": int,
            "etag": str,
            "last_modified": str,
            "updated_at": str,
            "run_id": int,
        },
        pk="id",
        not_null={"url", "updated_at"},
        foreign_keys=[("target_id", "targets", "id"), ("run_id", "runs", "id")],
    )
    db.table("http_validators").create_index(["url"], unique=True)
    db.table("http_validators").create_index(["target_id"])


@migrations()
def m020_run_targets(db: Database) -> None:
    # Per run and target: HTTP requests made (retries included), 304 answers, new posts, blocked answers.
    db.table("run_targets").create(
        {
            "id": int,
            "run_id": int,
            "target_id": int,
            "spider": str,
            "requests": int,
            "not_modified": int,
            "new_posts": int,
            "blocked": int,
        },
        pk="id",
        not_null={"run_id", "target_id", "requests"},
        defaults={"requests": 0, "not_modified": 0, "new_posts": 0, "blocked": 0},
        foreign_keys=[("run_id", "runs", "id"), ("target_id", "targets", "id")],
    )
    db.table("run_targets").create_index(["run_id", "target_id"], unique=True)
    db.table("run_targets").create_index(["target_id"])
