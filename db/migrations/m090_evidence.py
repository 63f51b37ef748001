"""Evidence captures (取证): what a veto or deduction finding's pages looked like when it opened."""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m090_evidence(db: Database) -> None:
    # One row per capture of one URL for one finding event (opened / reopened / changed): the body as
    # fetched (kind html) or a screenshot (kind png), stored beside the database under evidence/ by its
    # sha256. A failed capture keeps its row (path empty, error set) so an unchanged finding is never
    # captured twice.
    db.table("evidence").create(
        {
            "id": int,
            "finding_id": int,
            "event_id": int,  # the finding_events row the capture answers
            "run_id": int,
            "url": str,
            "final_url": str,
            "kind": str,  # html / png
            "path": str,  # relative to the evidence folder; empty when nothing was stored
            "sha256": str,
            "bytes": int,
            "content_type": str,
            "http_status": int,
            "truncated": int,  # 1: the body was longer than MONITOR_EVIDENCE_MAX_BYTES and was cut
            "error": str,
            "captured_at": str,
        },
        pk="id",
        not_null={"finding_id", "url", "kind", "captured_at"},
        defaults={"truncated": 0},
        foreign_keys=[("finding_id", "findings", "id"), ("event_id", "finding_events", "id")],
    )
    db.table("evidence").create_index(["finding_id", "event_id"])
    db.table("evidence").create_index(["sha256"])
