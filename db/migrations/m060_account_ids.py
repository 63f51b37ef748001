"""Account identities a page names: WeChat 原始ID and 微信号, the Weibo timeline container."""

from __future__ import annotations

from sqlite_utils import Database

from db.migrations import migrations


@migrations()
def m060_account_ids(db: Database) -> None:
    # gh_id: the 原始ID (gh_…) article pages and the history page name; wechat_id: the 微信号 Sogou
    # results, article pages and the history page show; timeline_containerid: the Weibo container the
    # profile's 微博 tab names (230413{uid}… on newer profiles), used for every re-check.
    accounts = db.table("accounts")
    for column in ("gh_id", "wechat_id", "timeline_containerid"):
        if column not in accounts.columns_dict:
            accounts.add_column(column, str)
