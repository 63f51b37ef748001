"""Portal tables: site meta per portal, its columns, the dated items in each column, message boards."""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m010_sites(db: Database) -> None:
    # One row per portal target, refreshed by each run of the portal spider.
    db.table("sites").create(
        {
            "id": int,
            "target_id": int,
            "homepage_url": str,
            "final_url": str,
            "site_name": str,  # <meta name="SiteName">
            "site_domain": str,  # <meta name="SiteDomain">
            "site_id_code": str,  # <meta name="SiteIDCode">: 6-digit region + 4 digits, or bm + 8
            "site_id_code_valid": int,
            "encoding": str,
            "cms": str,  # trs / hanweb / other
            "icp": str,  # footer ICP备案号
            "police_record": str,  # footer 公安机关备案号
            "organizer": str,  # footer 主办单位
            "homepage_items": int,
            "homepage_undated": int,
            "homepage_newest_at": str,
            "checked_at": str,
            "run_id": int,
        },
        pk="id",
        not_null={"target_id", "homepage_url"},
        foreign_keys=[("target_id", "targets", "id"), ("run_id", "runs", "id")],
    )
    db.table("sites").create_index(["target_id"], unique=True)


@migrations()
def m010_columns(db: Database) -> None:
    db.table("columns").create(
        {
            "id": int,
            "target_id": int,
            "url": str,
            "name": str,
            "kind": str,  # 动态要闻 / 通知公告 / 政策文件 / 人事 / 规划计划 / 互动 / 服务 / 其他
            "kind_rule": str,  # which classification rule decided the kind (meta, name or URL)
            "column_type": str,  # <meta name="ColumnType">
            "source": str,  # nav / meta / target
            "status": str,  # ok / blank / parse_failed / unreachable
            "item_count": int,
            "undated_count": int,
            "newest_item_at": str,
            "pages_followed": int,
            "rendered": int,  # 1 = listed by script, rendered in Chromium
            "error": str,
            "checked_at": str,
            "run_id": int,
        },
        pk="id",
        not_null={"target_id", "url"},
        foreign_keys=[("target_id", "targets", "id"), ("run_id", "runs", "id")],
    )
    db.table("columns").create_index(["target_id", "url"], unique=True)
    db.table("columns").create_index(["kind", "status"])


@migrations()
def m010_column_items(db: Database) -> None:
    db.table("column_items").create(
        {
            "id": int,
            "column_id": int,
            "target_id": int,
            "url": str,
            "title": str,
            "published_at": str,
            "date_source": str,  # list / pubdate_meta / page / none
            "first_seen_at": str,
            "run_id": int,
        },
        pk="id",
        not_null={"column_id", "target_id", "url"},
        foreign_keys=[
            ("column_id", "columns", "id"),
            ("target_id", "targets", "id"),
            ("run_id", "runs", "id"),
        ],
    )
    db.table("column_items").create_index(["column_id", "url"], unique=True)
    db.table("column_items").create_index(["target_id", "published_at"])


@migrations()
def m010_messages(db: Database) -> None:
    db.table("messages").create(
        {
            "id": int,
            "target_id": int,
            "board_url": str,
            # consultation / petition 信访 / discipline 纪检举报 / interview / survey / other
            "board_kind": str,
            "message_id": str,
            "url": str,
            "title": str,
            "category": str,  # 咨询 / 投诉 / 建议 / 求助
            "unit": str,  # 答复部门 / 承办单位
            "status": str,  # as the board writes it: 已回复, 未回复, 办理中…
            "asked_at": str,
            "answered_at": str,  # empty = still open
            "reply_text": str,
            "first_seen_at": str,
            "last_seen_at": str,
            "run_id": int,
        },
        pk="id",
        not_null={"target_id", "message_id"},
        foreign_keys=[("target_id", "targets", "id"), ("run_id", "runs", "id")],
    )
    db.table("messages").create_index(["target_id", "message_id"], unique=True)
    db.table("messages").create_index(["board_kind", "answered_at", "asked_at"])
