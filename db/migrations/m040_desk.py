"""The Datasette desk: views the canned queries read, indexes that keep them fast.

The rules lookup is detection's ``rules`` table (m030, filled from pipelines/rules/indicators.yaml);
``finding_rules`` is only a view over it that spells out the columns an inspector reads. Scores come
from detection's ``target_scores`` / ``score_breakdown`` / ``region_scores`` / ``level_scores`` views.

Views compute from raw rows at query time (the database is served immutable, so a summary table would
go stale between crawls); the indexes make each per-account lookup a single B-tree probe, so the views
stay well under 300 ms at 1,000,000 posts (see bench/datasette.py).
"""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations

# Latest fetch that says whether the account itself answered; an account read only through article URLs
# (WeChat "urls" mode) falls back to its latest article fetch. Link checks never count.
_ACCOUNT_CHECK_KINDS = "('feed', 'api', 'page', 'probe')"
# Account states meaning "we cannot see it", not "it stopped posting".
UNAVAILABLE_STATES = "('deleted', 'banned', 'blocked', 'migrated', 'login_required', 'unreachable')"
# Link-check outcomes that make a link dead (错链死链); blocked/login answers are not the link's fault.
DEAD_OUTCOMES = "('not_found', 'gone', 'server_error', 'timeout', 'dns_error', 'refused')"

ACCOUNT_STATUS_VIEW = f"""
CREATE VIEW account_status AS
SELECT
  t.id AS target_id,
  t.name AS name,
  t.platform AS platform,
  t.org AS org,
  t.region_code AS region_code,
  t.region_name AS region_name,
  t.level AS level,
  (SELECT p.published_at FROM posts p
    WHERE p.target_id = t.id AND p.is_pinned = 0
    ORDER BY p.published_at DESC LIMIT 1) AS newest_post_at,
  (SELECT p.published_at FROM posts p
    WHERE p.target_id = t.id AND p.is_pinned = 0
      AND p.post_id NOT IN (SELECT f.subject FROM findings f
                            WHERE f.target_id = t.id AND f.rule = 'account.closure_notice')
    ORDER BY p.published_at DESC LIMIT 1) AS newest_substantive_at,
  (SELECT f.evidence FROM findings f
    WHERE f.target_id = t.id AND f.rule = 'account.closure_notice'
    ORDER BY f.first_seen_at DESC LIMIT 1) AS closure_evidence,
  coalesce((SELECT c.outcome FROM checks c
    WHERE c.target_id = t.id AND c.kind IN {_ACCOUNT_CHECK_KINDS}
    ORDER BY c.checked_at DESC, c.id DESC LIMIT 1),
   (SELECT c.outcome FROM checks c
    WHERE c.target_id = t.id AND c.kind = 'article'
    ORDER BY c.checked_at DESC, c.id DESC LIMIT 1)) AS last_check_outcome,
  coalesce((SELECT c.checked_at FROM checks c
    WHERE c.target_id = t.id AND c.kind IN {_ACCOUNT_CHECK_KINDS}
    ORDER BY c.checked_at DESC, c.id DESC LIMIT 1),
   (SELECT c.checked_at FROM checks c
    WHERE c.target_id = t.id AND c.kind = 'article'
    ORDER BY c.checked_at DESC, c.id DESC LIMIT 1)) AS last_checked_at,
  (SELECT a.status FROM accounts a
    WHERE a.target_id = t.id ORDER BY a.last_seen_at DESC, a.id DESC LIMIT 1) AS account_state,
  CASE
    -- Never checked (or the latest check failed): no data is not "stale".
    WHEN coalesce(coalesce((SELECT c.ok FROM checks c
          WHERE c.target_id = t.id AND c.kind IN {_ACCOUNT_CHECK_KINDS}
          ORDER BY c.checked_at DESC, c.id DESC LIMIT 1),
         (SELECT c.ok FROM checks c
          WHERE c.target_id = t.id AND c.kind = 'article'
          ORDER BY c.checked_at DESC, c.id DESC LIMIT 1)), 0) = 0 THEN 0
    WHEN (SELECT a.status FROM accounts a
           WHERE a.target_id = t.id ORDER BY a.last_seen_at DESC, a.id DESC LIMIT 1)
         IN {UNAVAILABLE_STATES} THEN 0
    ELSE 1
  END AS available
FROM targets t
WHERE t.active = 1 AND t.platform != 'portal'
"""

# Detection's rules table as an inspector reads it: the descriptive keys of the rules file as columns.
FINDING_RULES_VIEW = """
CREATE VIEW finding_rules AS
SELECT
  r.id AS rule,
  CASE WHEN r.id LIKE 'portal.%' THEN 'portal' ELSE 'account' END AS scope,
  r.label AS label,
  json_extract(r.settings, '$.label_en') AS label_en,
  r.severity AS severity,
  r.indicator AS indicator,
  json_extract(r.settings, '$.source') AS source,
  json_extract(r.settings, '$.measured') AS measured,
  coalesce(r.points, json_extract(r.settings, '$.points_each'), json_extract(r.settings, '$.points_per_day'))
    AS points,
  CASE WHEN r.points IS NOT NULL THEN '每项 per finding'
       WHEN json_extract(r.settings, '$.points_each') IS NOT NULL THEN '每个 per item (evidence.count)'
       WHEN json_extract(r.settings, '$.points_per_day') IS NOT NULL THEN '每天 per day over the limit'
  END AS points_unit,
  r.cap AS cap,
  r.settings AS settings
FROM rules r
"""

FINDINGS_VIEW = """
CREATE VIEW findings_view AS
SELECT
  f.id AS id,
  f.target_id AS target_id,
  t.name AS target_name,
  t.platform AS platform,
  t.region_code AS region_code,
  t.region_name AS region_name,
  t.level AS level,
  f.rule AS rule,
  coalesce(r.label, f.rule) AS rule_label,
  f.severity AS severity,
  CASE WHEN f.resolved_at IS NULL THEN 'open' ELSE 'resolved' END AS state,
  f.subject AS subject,
  f.label AS label,
  coalesce(f.indicator, r.indicator) AS indicator,
  f.evidence AS evidence,
  f.first_seen_at AS first_seen_at,
  f.last_seen_at AS last_seen_at,
  f.resolved_at AS resolved_at,
  f.points AS points,
  f.profile AS profile,
  substr(f.first_seen_at, 1, 7) AS first_seen_month
FROM findings f
JOIN targets t ON t.id = f.target_id
LEFT JOIN rules r ON r.id = f.rule
"""

OPEN_FINDINGS_VIEW = "CREATE VIEW open_findings AS SELECT * FROM findings_view WHERE resolved_at IS NULL"

DEAD_LINKS_VIEW = f"""
CREATE VIEW dead_links AS
SELECT
  c.id AS check_id,
  c.target_id AS target_id,
  t.name AS site,
  t.region_name AS region_name,
  t.level AS level,
  c.found_on AS found_on,
  c.url AS url,
  c.outcome AS outcome,
  c.http_status AS http_status,
  c.error AS error,
  c.checked_at AS checked_at
FROM checks c
JOIN targets t ON t.id = c.target_id
WHERE c.kind = 'link' AND c.outcome IN {DEAD_OUTCOMES}
  AND NOT EXISTS (
    SELECT 1 FROM checks n
    WHERE n.kind = 'link' AND n.target_id = c.target_id AND n.url = c.url
      AND (n.checked_at > c.checked_at OR (n.checked_at = c.checked_at AND n.id > c.id))
  )
"""


@migrations()
def m040_desk_indexes(db: Database) -> None:
    # newest non-pinned post per account: one probe per account (停更 / 僵尸 / dashboard share)
    db.table("posts").create_index(["target_id", "is_pinned", "published_at"], if_not_exists=True)
    # latest account-level check per target
    db.table("checks").create_index(["target_id", "kind", "checked_at", "ok"], if_not_exists=True)
    # dead links: latest check per (site, url)
    db.table("checks").create_index(["kind", "target_id", "url", "checked_at"], if_not_exists=True)
    # scorecard / league table: open findings per target, covering
    db.table("findings").create_index(["resolved_at", "target_id", "severity", "rule"], if_not_exists=True)
    # detection's target_scores / score_breakdown: open findings grouped per target (and rule) by severity,
    # covering, so the scorecard and league table read the index in group order without a sort
    db.table("findings").create_index(
        ["resolved_at", "severity", "target_id", "rule", "points", "label"], if_not_exists=True
    )
    # findings over time, what changed since the last run
    db.table("findings").create_index(["first_seen_at", "severity"], if_not_exists=True)
    db.table("findings").create_index(["first_run_id"], if_not_exists=True)
    db.table("findings").create_index(["last_run_id", "resolved_at"], if_not_exists=True)
    db.table("findings").create_index(["rule", "first_seen_at"], if_not_exists=True)
    db.table("accounts").create_index(["target_id", "last_seen_at", "status"], if_not_exists=True)
    # closure notices: is the named successor itself a monitored target?
    db.table("targets").create_index(["name"], if_not_exists=True)


@migrations()
def m040_desk_views(db: Database) -> None:
    # m030 made a narrower open_findings; this one adds rule labels and the facet columns.
    db.execute("DROP VIEW IF EXISTS open_findings")
    for sql in (ACCOUNT_STATUS_VIEW, DEAD_LINKS_VIEW):
        db.execute(sql)


@migrations()
def m040_one_rules_lookup(db: Database) -> None:
    # The desk reads detection's rules table. A database made by the desk branch before the merge had a
    # finding_rules table copied from a second list: drop it and rebuild the views that read it.
    if "finding_rules" in db.table_names():
        db.execute("DROP TABLE finding_rules")
    for view in ("open_findings", "findings_view", "finding_rules"):
        db.execute(f"DROP VIEW IF EXISTS {view}")
    for sql in (FINDING_RULES_VIEW, FINDINGS_VIEW, OPEN_FINDINGS_VIEW):
        db.execute(sql)
