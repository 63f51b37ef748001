"""Pages that are not content but a state: deleted, banned, migrated, cancelled, login or captcha walls."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.enums import AccountStatus, CheckOutcome


@dataclass(frozen=True)
class PageState:
    outcome: CheckOutcome
    account_status: AccountStatus | None  # None: the page says nothing about the account itself
    reason: str
    link: str | None = None  # where a migrated account went (WeChat's transferTargetLink)


# Phrase -> state, checked in order; from the real WeChat/Weibo/Sogou pages (shared/domain/pages.md).
PHRASES: tuple[tuple[str, CheckOutcome, AccountStatus | None], ...] = (
    ("此帐号已自主注销", CheckOutcome.GONE, AccountStatus.DELETED),
    ("该帐号已系统注销", CheckOutcome.GONE, AccountStatus.DELETED),
    ("帐号已被系统回收", CheckOutcome.GONE, AccountStatus.DELETED),
    ("此帐号已注销", CheckOutcome.GONE, AccountStatus.DELETED),
    ("此帐号已被屏蔽", CheckOutcome.GONE, AccountStatus.BANNED),
    ("该公众号已被屏蔽", CheckOutcome.GONE, AccountStatus.BANNED),
    ("该公众号已被封禁", CheckOutcome.GONE, AccountStatus.BANNED),
    ("该账号已被封禁", CheckOutcome.GONE, AccountStatus.BANNED),
    ("该公众号已迁移", CheckOutcome.GONE, AccountStatus.MIGRATED),
    ("该内容已被发布者删除", CheckOutcome.GONE, None),
    ("此内容因违规无法查看", CheckOutcome.GONE, None),
    ("此内容被投诉且经审核涉嫌侵权", CheckOutcome.GONE, None),
    ("已停止访问该网页", CheckOutcome.GONE, None),
    ("链接已过期", CheckOutcome.HTTP_ERROR, None),
    ("环境异常", CheckOutcome.BLOCKED, None),
    ("你的访问过于频繁", CheckOutcome.BLOCKED, None),
    ("用户您好，您的访问过于频繁", CheckOutcome.BLOCKED, None),
    ("请输入验证码", CheckOutcome.BLOCKED, None),
    ("antispider", CheckOutcome.BLOCKED, None),
    ("需要从微信打开验证身份", CheckOutcome.BLOCKED, None),
)
TRANSFER_LINK = re.compile(r"transferTargetLink\s*=\s*(['\"])(?P<link>[^'\"]+)\1")
LOGIN_MARKS = ("请先登录", "请登录", "登录后", "type='password'", 'type="password"')


def classify_page_state(text: str, url: str = "") -> PageState | None:
    """The state a non-content page shows, or None when it looks like ordinary content."""
    for phrase, outcome, status in PHRASES:
        if phrase in text:
            link = None
            if status == AccountStatus.MIGRATED:
                m = TRANSFER_LINK.search(text)
                link = m["link"].replace("\\x26", "&").replace("&amp;", "&") if m else None
            return PageState(outcome, status, phrase, link)
    if "captcha" in url.lower() or "antispider" in url.lower():
        return PageState(CheckOutcome.BLOCKED, None, f"verification page {url}")
    if any(mark in text for mark in LOGIN_MARKS) or "/login" in url:
        return PageState(CheckOutcome.LOGIN_REQUIRED, None, "login wall")
    return None
