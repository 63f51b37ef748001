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


# --- walls in front of any page: a login or a verification (captcha, WAF, JS challenge) ------------

# Where refusals send a client: a host named for it (sso., passport.) or a path segment. Checked on
# host and path only: a login URL carries the page it guards in its query (?service=…, ?next=…).
WALL_HOST = re.compile(
    r"^(?:(?P<login>sso|cas|passport|login|auth|idp|uc)|(?P<captcha>captcha|verify|waf))\.", re.I
)
WALL_PATH = re.compile(
    r"(?P<captcha>captcha|antispider|anti-spider|seccode)"
    r"|/(?:(?P<check>verify|challenge|waf)|(?P<login>login|signin|sign-in|logon|sso|cas|oauth2?|auth|passport))"
    r"(?=[/.?_-]|$)",
    re.I,
)
# The same, for an answer at the URL asked for (no redirect): only marks no content page carries.
DIRECT_CAPTCHA_URL = re.compile(r"antispider|captcha", re.I)
DIRECT_LOGIN_URL = re.compile(r"passport\.weibo\.cn/signin|/login\b", re.I)
# Verification and firewall pages of the WAFs and CDNs in front of Chinese government sites.
VERIFICATION_PHRASES = (
    "请输入验证码",
    "滑动验证",
    "拖动滑块",
    "安全验证",
    "人机验证",
    "访问验证",
    "浏览器安全检查",
    "正在验证您的浏览器",
    "请开启JavaScript",
    "请启用JavaScript",
    "访问被拦截",
    "请求已被拦截",
    "您的访问被阻断",
    "访问受限",
    "网站防火墙",
    "Web应用防火墙",
    "安全威胁",
    "疑似黑客攻击",
    "安全狗",
    "云锁",
    "创宇盾",
    "Checking your browser",
)
LOGIN_PHRASES = ("请先登录", "请登录后", "登录后访问", "统一身份认证", "用户登录", "账号登录")
# A wall is a small page: a homepage with a login box or a 验证码 field still has its many links.
WALL_MAX_LINKS = 10
WALL_MAX_TEXT = 2000


def _host_path(url: str) -> tuple[str, str]:
    head = url.split("?", 1)[0].split("#", 1)[0].split("://", 1)[-1]
    host, _, path = head.partition("/")
    return host, "/" + path


def classify_wall_url(url: str, *, redirected: bool) -> PageState | None:
    """A login or verification page told by its URL; the broader marks count only after a redirect."""
    host, path = _host_path(url)
    login = captcha = False
    if redirected:
        for m in (WALL_HOST.search(host), WALL_PATH.search(path)):
            if m is not None:
                captcha |= bool(m.groupdict().get("captcha") or m.groupdict().get("check"))
                login |= bool(m["login"])
    else:
        captcha = bool(DIRECT_CAPTCHA_URL.search(host + path))
        login = bool(DIRECT_LOGIN_URL.search(host + path))
    # The reason names the page without its query: a login URL's query carries the URL it guards.
    if captcha:
        return PageState(CheckOutcome.BLOCKED, None, f"verification page {host}{path}")
    if login:
        return PageState(CheckOutcome.LOGIN_REQUIRED, None, f"login page {host}{path}")
    return None


def classify_wall(
    text: str,
    url: str,
    *,
    redirected: bool,
    links: int,
    has_password: bool = False,
    has_textarea: bool = False,
) -> PageState | None:
    """A login or verification wall in front of a page: by its URL, else a small page saying so.

    ``text`` is the page's visible text, ``links`` how many links it has, ``has_password`` whether it
    has a password field, ``has_textarea`` whether it has a box to write in: a 我要写信 or 留言 form asks
    for a 验证码 too, and is a page of its own, not a wall.
    """
    by_url = classify_wall_url(url, redirected=redirected)
    if by_url is not None:
        return by_url
    if links > WALL_MAX_LINKS or len(text) > WALL_MAX_TEXT or has_textarea:
        return None
    for phrase in VERIFICATION_PHRASES:
        if phrase.lower() in text.lower():
            return PageState(CheckOutcome.BLOCKED, None, f"verification page ({phrase})")
    if has_password or any(phrase in text for phrase in LOGIN_PHRASES):
        return PageState(CheckOutcome.LOGIN_REQUIRED, None, "login wall")
    return None
