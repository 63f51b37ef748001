"""Detection: rule metadata, finding history (events), post SimHashes, finding points, score views."""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m030_rules(db: Database) -> None:
    # The rules file as loaded by the last detect run: the views join it for labels, caps and points.
    db.table("rules").create(
        {
            "id": str,
            "label": str,
            "severity": str,
            "indicator": str,
            "points": float,
            "cap": float,
            "settings": str,  # the national settings as JSON
        },
        pk="id",
        not_null={"label", "severity", "indicator"},
    )


@migrations()
def m030_rules_fill(db: Database) -> None:
    # Migrations never read a file that changes: the rules table is written by whoever loads the rules
    # (every detection run, and `scrapy import-targets`), so this step does nothing.
    return


@migrations()
def m030_finding_points(db: Database) -> None:
    db.table("findings").add_column("points", float)  # deduction points this finding costs (before caps)
    db.table("findings").add_column("profile", str)  # the rule profile it was judged under


@migrations()
def m030_finding_events(db: Database) -> None:
    # A finding's history: opened / reopened / changed / resolved, so a re-opened finding keeps its past.
    db.table("finding_events").create(
        {
            "id": int,
            "finding_id": int,
            "target_id": int,
            "rule": str,
            "subject": str,
            "event": str,
            "at": str,  # the run's as_of
            "run_id": int,
            "evidence": str,
        },
        pk="id",
        not_null={"finding_id", "event", "at"},
        foreign_keys=[("finding_id", "findings", "id"), ("run_id", "runs", "id")],
    )
    db.table("finding_events").create_index(["finding_id", "id"])
    db.table("finding_events").create_index(["rule", "event"])


@migrations()
def m030_post_features(db: Database) -> None:
    # Per-post facts computed once (incrementally) so a daily run never re-reads every post's text:
    # the closure-notice verdict (JSON, NULL = not a notice) and the SimHash for near-duplicates.
    db.table("post_features").create(
        {
            "post_rowid": int,
            "target_id": int,
            "published_at": str,
            "notice_checked": int,
            "notice": str,
            "simhash": int,
        },
        pk="post_rowid",
        defaults={"notice_checked": 0},
        foreign_keys=[("post_rowid", "posts", "id")],
    )
    db.table("post_features").create_index(["published_at"])
    db.table("post_features").create_index(["target_id", "published_at"])
    # Every post gets a row on insert (work queue: notice_checked = 0, simhash NULL); an edited post
    # is judged again; a deleted one takes its facts with it. Existing posts are queued here.
    db.execute("""
    CREATE TRIGGER IF NOT EXISTS posts_features_new AFTER INSERT ON posts
    BEGIN
      INSERT OR IGNORE INTO post_features (post_rowid, target_id, published_at, notice_checked)
      VALUES (new.id, new.target_id, new.published_at, 0);
    END
    """)
    db.execute("""
    CREATE TRIGGER IF NOT EXISTS posts_features_stale AFTER UPDATE OF title, text, published_at ON posts
    WHEN coalesce(old.title, '') != coalesce(new.title, '')
      OR coalesce(old.text, '') != coalesce(new.text, '')
      OR coalesce(old.published_at, '') != coalesce(new.published_at, '')
    BEGIN
      UPDATE post_features SET notice_checked = 0, notice = NULL, simhash = NULL,
        published_at = new.published_at WHERE post_rowid = old.id;
    END
    """)
    db.execute("""
    CREATE TRIGGER IF NOT EXISTS posts_features_gone AFTER DELETE ON posts
    BEGIN DELETE FROM post_features WHERE post_rowid = old.id; END
    """)
    db.execute(
        "INSERT OR IGNORE INTO post_features (post_rowid, target_id, published_at, notice_checked) "
        "SELECT id, target_id, published_at, 0 FROM posts"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS post_features_unjudged ON post_features (published_at) "
        "WHERE notice_checked = 0"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS post_features_unhashed ON post_features (published_at) "
        "WHERE simhash IS NULL"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS post_features_notices ON post_features (published_at) "
        "WHERE notice IS NOT NULL"
    )
    # Freshness and content rules aggregate per target over a time window: a covering index lets
    # SQLite answer them without reading the posts' text (1,000,000 posts in about a second).
    db.execute(
        "CREATE INDEX IF NOT EXISTS posts_detect ON posts (target_id, published_at, is_pinned, "
        "is_original, is_repost, text_length, image_count, title)"
    )


@migrations()
def m030_views(db: Database) -> None:
    db.execute("""
    CREATE VIEW IF NOT EXISTS open_findings AS
    SELECT f.id, f.target_id, t.name AS target_name, t.platform, t.region_code, t.region_name, t.level,
           f.rule, f.label, f.severity, f.indicator, f.subject, f.points, f.evidence,
           f.first_seen_at, f.last_seen_at, f.profile
    FROM findings f JOIN targets t ON t.id = f.target_id
    WHERE f.resolved_at IS NULL
    """)
    db.execute("""
    CREATE VIEW IF NOT EXISTS score_breakdown AS
    SELECT f.target_id, f.rule, r.label, r.indicator, count(*) AS findings,
           round(sum(coalesce(f.points, 0)), 2) AS points_raw,
           round(min(sum(coalesce(f.points, 0)), coalesce(r.cap, 1e9)), 2) AS points
    FROM findings f LEFT JOIN rules r ON r.id = f.rule
    WHERE f.resolved_at IS NULL AND f.severity = 'deduction'
    GROUP BY f.target_id, f.rule
    """)
    db.execute("""
    CREATE VIEW IF NOT EXISTS target_scores AS
    WITH v AS (
      SELECT target_id, count(*) AS vetoes, group_concat(DISTINCT label) AS veto_labels
      FROM findings WHERE resolved_at IS NULL AND severity = 'veto' GROUP BY target_id
    ), d AS (
      SELECT target_id, sum(points) AS deductions,
             json_group_object(rule, points) AS breakdown
      FROM score_breakdown GROUP BY target_id
    ), i AS (
      SELECT target_id, count(*) AS infos FROM findings
      WHERE resolved_at IS NULL AND severity = 'info' GROUP BY target_id
    ), u AS (
      -- an account the crawler could not see (deleted, blocked, login wall, unreachable) is not 合格
      SELECT DISTINCT target_id FROM findings
      WHERE resolved_at IS NULL AND rule = 'account.unavailable'
    )
    SELECT t.id AS target_id, t.name, t.platform, t.region_code, t.region_name, t.level, t.profile,
           coalesce(v.vetoes, 0) AS vetoes, v.veto_labels,
           round(coalesce(d.deductions, 0), 2) AS deductions,
           coalesce(i.infos, 0) AS infos,
           CASE WHEN coalesce(v.vetoes, 0) > 0 OR u.target_id IS NOT NULL THEN NULL
                ELSE round(100 - coalesce(d.deductions, 0), 2) END AS score,
           CASE WHEN coalesce(v.vetoes, 0) > 0 THEN '不合格'
                WHEN u.target_id IS NOT NULL THEN '无法检查'
                WHEN 100 - coalesce(d.deductions, 0) < 60 THEN '不合格'
                ELSE '合格' END AS verdict,
           coalesce(d.breakdown, '{}') AS breakdown
    FROM targets t LEFT JOIN v ON v.target_id = t.id LEFT JOIN d ON d.target_id = t.id
    LEFT JOIN i ON i.target_id = t.id LEFT JOIN u ON u.target_id = t.id
    WHERE t.active = 1
    """)
    for view, key in (("region_scores", "region_code, region_name"), ("level_scores", "level")):
        db.execute(f"""
        CREATE VIEW IF NOT EXISTS {view} AS
        SELECT {key}, platform, count(*) AS targets,
               sum(verdict = '不合格') AS failing,
               sum(verdict = '无法检查') AS unchecked,
               sum(vetoes > 0) AS with_veto,
               round(100.0 * sum(verdict = '合格') / nullif(count(*) - sum(verdict = '无法检查'), 0), 1)
                 AS pass_rate,
               round(avg(CASE WHEN verdict = '合格' THEN score END), 2) AS avg_score_of_passing,
               sum(vetoes) AS vetoes, round(sum(deductions), 2) AS deductions, sum(infos) AS infos
        FROM target_scores GROUP BY {key}, platform
        """)
    db.execute("""
    CREATE VIEW IF NOT EXISTS account_engagement AS
    -- Context only: the 2023 意见 forbids ranking or scoring accounts by engagement.
    SELECT p.target_id, t.name, count(*) AS posts, sum(p.reads_count) AS reads,
           sum(p.likes_count) AS likes, sum(p.comments_count) AS comments, sum(p.reposts_count) AS reposts,
           round(avg(p.reads_count), 1) AS avg_reads, max(p.published_at) AS newest_post_at
    FROM posts p JOIN targets t ON t.id = p.target_id
    GROUP BY p.target_id
    """)
