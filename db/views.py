"""Every view, its closed-set lists generated from core/enums.py; ``ensure_views`` keeps a file current.

Views only read what detection decided (findings, verdicts) and what the spiders stored: no rule is
restated here. A database opened by ``open_db`` gets these definitions (a changed definition replaces
the old view), so migrations never need to be edited when a closed set grows.
"""

from __future__ import annotations

from sqlite_utils import Database

from core.enums import (
    ACCOUNT_LIST_KINDS,
    DEAD_LINK_OUTCOMES,
    CheckKind,
    Coverage,
    FindingState,
    Platform,
    Scope,
    Severity,
    UpdateState,
    Verdict,
)
from core.labels import LABELS
from db.sql import in_list, order_by_members, quote

UNCHECKED = quote(Verdict.UNCHECKED)
QUALIFIED = quote(Verdict.QUALIFIED)
UNQUALIFIED = quote(Verdict.UNQUALIFIED)
NEVER = quote(Coverage.NEVER)
PORTAL = quote(Platform.PORTAL)
# Runs whose data may be read as evidence: finished and trusted (runs made before trust was recorded
# count as trusted once finished).
TRUSTED_RUNS = "SELECT id FROM runs WHERE trusted = 1"

VIEWS: dict[str, str] = {}

# Every closed set's Chinese labels (core/labels.py) as rows, for SQL that shows them (dashboard charts).
_LABEL_ROWS = ", ".join(
    f"({quote(name)}, {quote(value)}, {quote(text)})"
    for name, values in sorted(LABELS.items())
    for value, text in sorted(values.items())
)
VIEWS["labels"] = f"""
SELECT column1 AS closed_set, column2 AS value, column3 AS label FROM (VALUES {_LABEL_ROWS})
"""

VIEWS["finding_rules"] = f"""
SELECT
  r.id AS rule,
  CASE WHEN r.id LIKE 'portal.%' THEN {quote(Scope.PORTAL)} ELSE {quote(Scope.ACCOUNT)} END AS scope,
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

VIEWS["findings_view"] = f"""
SELECT
  f.id AS id,
  f.target_id AS target_id,
  t.name AS target_name,
  t.platform AS platform,
  t.region_code AS region_code,
  t.region_name AS region_name,
  t.level AS level,
  t.org AS org,
  f.rule AS rule,
  coalesce(r.label, f.rule) AS rule_label,
  f.severity AS severity,
  {order_by_members("f.severity", list(Severity))} AS severity_order,
  CASE WHEN f.resolved_at IS NULL THEN {quote(FindingState.OPEN)} ELSE {quote(FindingState.RESOLVED)} END
    AS state,
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

VIEWS["open_findings"] = "SELECT * FROM findings_view WHERE resolved_at IS NULL"

# Detection's verdict per target; a target no run has judged yet is 无法检查 / never.
VIEWS["target_scores"] = f"""
SELECT t.id AS target_id, t.name, t.platform, t.org, t.region_code, t.region_name, t.level, t.profile,
       coalesce(v.vetoes, 0) AS vetoes, v.veto_labels,
       round(coalesce(v.deductions, 0), 2) AS deductions,
       coalesce(v.infos, 0) AS infos,
       v.score AS score,
       coalesce(v.verdict, {UNCHECKED}) AS verdict,
       coalesce(v.coverage, {NEVER}) AS coverage,
       v.reason AS reason,
       coalesce(v.held, 0) AS held,
       v.note AS note,
       coalesce(v.breakdown, '{{}}') AS breakdown,
       v.judged_run_id AS judged_run_id,
       v.as_of AS as_of
FROM targets t LEFT JOIN verdicts v ON v.target_id = t.id
WHERE t.active = 1
"""

VIEWS["score_breakdown"] = """
SELECT v.target_id, b.key AS rule, r.label, r.indicator, b.value AS points
FROM verdicts v, json_each(v.breakdown) b LEFT JOIN rules r ON r.id = b.key
"""

for _view, _key in (("region_scores", "region_code, region_name"), ("level_scores", "level")):
    VIEWS[_view] = f"""
SELECT {_key}, platform, count(*) AS targets,
       sum(verdict = {UNQUALIFIED}) AS failing,
       sum(verdict = {UNCHECKED}) AS unchecked,
       sum(vetoes > 0) AS with_veto,
       round(100.0 * sum(verdict = {QUALIFIED}) / nullif(count(*) - sum(verdict = {UNCHECKED}), 0), 1)
         AS pass_rate,
       round(avg(CASE WHEN verdict = {QUALIFIED} THEN score END), 2) AS avg_score_of_passing,
       sum(vetoes) AS vetoes, round(sum(deductions), 2) AS deductions, sum(infos) AS infos
FROM target_scores GROUP BY {_key}, platform
"""

_LIST_KINDS = in_list(ACCOUNT_LIST_KINDS)
_LATEST_LIST_CHECK = f"""(SELECT c.{{col}} FROM checks c
    WHERE c.target_id = t.id AND c.kind IN {_LIST_KINDS}
    ORDER BY c.checked_at DESC, c.id DESC LIMIT 1)"""

# Accounts as the desk lists them: the newest post, the latest fetch, and detection's conclusions.
VIEWS["account_status"] = f"""
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
  {_LATEST_LIST_CHECK.format(col="outcome")} AS last_check_outcome,
  {_LATEST_LIST_CHECK.format(col="checked_at")} AS last_checked_at,
  (SELECT a.status FROM accounts a
    WHERE a.target_id = t.id ORDER BY a.last_seen_at DESC, a.id DESC LIMIT 1) AS account_state,
  s.verdict AS verdict,
  s.coverage AS coverage,
  s.reason AS reason,
  EXISTS (SELECT 1 FROM findings f WHERE f.target_id = t.id AND f.resolved_at IS NULL
          AND f.rule = 'account.no_update_14d') AS stale,
  EXISTS (SELECT 1 FROM findings f WHERE f.target_id = t.id AND f.resolved_at IS NULL
          AND f.rule = 'account.zombie') AS zombie,
  (SELECT f.evidence FROM findings f
    WHERE f.target_id = t.id AND f.rule = 'account.closure_notice'
    ORDER BY f.first_seen_at DESC LIMIT 1) AS closure_evidence
FROM targets t JOIN target_scores s ON s.target_id = t.id
WHERE t.active = 1 AND t.platform != {PORTAL}
"""

# The desk's grouping of accounts by detection's open freshness findings (dashboard and its drill-down).
VIEWS["account_updates"] = f"""
SELECT u.*, {order_by_members("u.update_state", list(UpdateState))} AS update_order FROM (
SELECT a.*,
  CASE WHEN a.zombie THEN {quote(UpdateState.ZOMBIE)} WHEN a.stale THEN {quote(UpdateState.STALE)}
       WHEN a.verdict = {UNCHECKED} THEN {quote(UpdateState.UNCHECKED)} ELSE {quote(UpdateState.UPDATING)} END
    AS update_state
FROM account_status a) u
"""

# Portals and their homepage availability as detection judged it (open portal.unreachable), with the
# latest homepage probe for context.
VIEWS["portal_availability"] = f"""
SELECT t.id AS target_id, t.name, t.org, t.region_code, t.region_name, t.level,
       s.verdict, s.coverage,
       (u.id IS NOT NULL) AS unreachable,
       u.id AS finding_id,
       json_extract(u.evidence, '$.probes') AS probes,
       json_extract(u.evidence, '$.failed') AS failed,
       json_extract(u.evidence, '$.failed_share') AS failed_share,
       (SELECT c.outcome FROM checks c WHERE c.target_id = t.id AND c.kind = {quote(CheckKind.PROBE)}
         ORDER BY c.checked_at DESC, c.id DESC LIMIT 1) AS latest_probe_outcome,
       (SELECT c.checked_at FROM checks c WHERE c.target_id = t.id AND c.kind = {quote(CheckKind.PROBE)}
         ORDER BY c.checked_at DESC, c.id DESC LIMIT 1) AS latest_probe_at,
       t.url AS homepage_url
FROM targets t JOIN target_scores s ON s.target_id = t.id
LEFT JOIN findings u ON u.target_id = t.id AND u.rule = 'portal.unreachable' AND u.resolved_at IS NULL
WHERE t.active = 1 AND t.platform = {PORTAL}
"""

# A dead link (错链死链): a link that failed with a dead outcome in its site's latest trusted
# link-checking run. Detection reads this view for portal.dead_link_homepage / portal.dead_links.
VIEWS["dead_links"] = f"""
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
  c.checked_at AS checked_at,
  c.run_id AS run_id
FROM checks c
JOIN targets t ON t.id = c.target_id
JOIN (SELECT target_id, max(run_id) AS run_id FROM checks
      WHERE kind = {quote(CheckKind.LINK)} AND run_id IN ({TRUSTED_RUNS}) GROUP BY target_id) l
  ON l.target_id = c.target_id AND l.run_id = c.run_id
WHERE c.kind = {quote(CheckKind.LINK)} AND c.outcome IN {in_list(DEAD_LINK_OUTCOMES)}
"""

VIEWS["account_engagement"] = """
-- Context only: the 2023 意见 forbids ranking or scoring accounts by engagement.
SELECT p.target_id, t.name, count(*) AS posts, sum(p.reads_count) AS reads,
       sum(p.likes_count) AS likes, sum(p.comments_count) AS comments, sum(p.reposts_count) AS reposts,
       round(avg(p.reads_count), 1) AS avg_reads, max(p.published_at) AS newest_post_at
FROM posts p JOIN targets t ON t.id = p.target_id
GROUP BY p.target_id
"""

# Runs as the desk shows them (运行状况): status, trust, the crawler-side problems recorded, and the
# health monitors' answers (health: ok / failed; NULL for a run no monitor looked at, e.g. detect).
VIEWS["run_health"] = """
SELECT r.id AS run_id, r.spider, r.started_at, r.finished_at, r.as_of, r.status, r.trusted,
       r.items, r.requests, r.errors,
       (SELECT group_concat(p.problem || ': ' || coalesce(p.detail, ''), '；') FROM run_problems p
         WHERE p.run_id = r.id) AS problems,
       (SELECT CASE WHEN count(*) = 0 THEN NULL WHEN min(m.passed) = 1 THEN 'ok' ELSE 'failed' END
          FROM run_monitors m WHERE m.run_id = r.id) AS health,
       (SELECT count(*) FROM run_monitors m WHERE m.run_id = r.id AND m.passed = 1) AS monitors_passed,
       (SELECT group_concat(m.monitor, ', ') FROM run_monitors m WHERE m.run_id = r.id AND m.passed = 0)
         AS monitors_failed
FROM runs r
"""

# One row per run and monitor: the history of each crawler-health check.
VIEWS["run_monitor_history"] = """
SELECT m.run_id, r.spider, r.started_at, r.as_of, m.monitor,
       CASE WHEN m.passed = 1 THEN 'pass' ELSE 'fail' END AS result, m.detail, r.trusted
FROM run_monitors m JOIN runs r ON r.id = m.run_id
"""

# Order matters: a view is created after the views it reads.
ORDER = (
    "labels",
    "finding_rules",
    "findings_view",
    "open_findings",
    "target_scores",
    "score_breakdown",
    "region_scores",
    "level_scores",
    "account_status",
    "account_updates",
    "portal_availability",
    "dead_links",
    "account_engagement",
    "run_health",
    "run_monitor_history",
)


# Indexes on the expressions the views order by, made from the same closed sets (so they follow the views):
# the desk's findings list (open first, most serious first, newest first, LIMIT 1000) walks this one and
# stops, instead of sorting every finding.
INDEXES = {
    "findings_desk_order": "CREATE INDEX findings_desk_order ON findings (resolved_at IS NOT NULL, "
    f"{order_by_members('severity', list(Severity))}, first_seen_at DESC, id DESC)",
}


def view_sql(name: str) -> str:
    return f"CREATE VIEW {name} AS {VIEWS[name].strip()}"


def views_current(db: Database) -> bool:
    current = dict(
        db.execute("SELECT name, sql FROM sqlite_master WHERE type IN ('view', 'index')").fetchall()
    )
    return all(current.get(name) == view_sql(name) for name in ORDER) and all(
        current.get(name) == sql for name, sql in INDEXES.items()
    )


def ensure_views(db: Database) -> None:
    """(Re)create every view and view index whose stored definition differs from this module's."""
    if views_current(db):
        return
    wanted = {name: view_sql(name) for name in ORDER}
    with db.conn:
        for name in reversed(ORDER):
            db.execute(f"DROP VIEW IF EXISTS {name}")
        for name in ORDER:
            db.execute(wanted[name])
        stored = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'").fetchall())
        for name, sql in INDEXES.items():
            if stored.get(name) != sql:
                db.execute(f"DROP INDEX IF EXISTS {name}")
                db.execute(sql)


assert set(ORDER) == set(VIEWS), "every view needs its place in ORDER"
