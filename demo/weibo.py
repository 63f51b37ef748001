"""The demo world's Weibo mobile API: profile, paged timeline with a pinned old post, long text, refusals."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from demo.http import Request, Response, Router
from demo.world import DemoAccount, DemoPost, World

PAGE = 10
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class WbAccount:
    acc: DemoAccount
    uid: str
    state: str
    pinned: DemoPost | None = None


# (slug, archetype, region, bureau, posts, planted state)
SPECS = (
    ("wb-linjiang-fabu", "active", 1, None, 25, "active"),
    ("wb-qingshan-jiaoyu", "stale", 2, 3, 12, "stale"),
    ("wb-hekou-kexie", "zombie", 3, 4, 6, "zombie"),
    ("wb-qingshan-zhujian", "closed", 2, 2, 6, "closed"),
    ("wb-yunchuan-weijian", "closing", 5, 5, 6, "closing"),
    ("wb-shifan-weijian", "none", 0, 5, 0, "rate_limited"),
    ("wb-linjiang-keji", "none", 1, 4, 0, "no_content"),
    ("wb-hekou-shichang", "none", 3, 1, 0, "login_required"),
)


def weibo_accounts(world: World) -> list[WbAccount]:
    cached = world.__dict__.get("_weibo_accounts")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    rows = []
    for i, (slug, archetype, region, bureau, posts, state) in enumerate(SPECS):
        acc = world.make_account(slug, archetype, region, bureau, posts=posts)
        wb = WbAccount(acc, str(5_800_000_001 + i), state)
        if state == "active":
            # A pinned welcome post, 200 days old, heads page 1: it must never count as the newest.
            when = (world.as_of - timedelta(days=200)).replace(microsecond=0)
            wb.pinned = DemoPost(
                0, "置顶", f"欢迎关注{acc.name}！这里发布{acc.region_name}权威政务信息。", when, True
            )
        rows.append(wb)
    for i in range(world.weibo_extra):
        acc = world.extra_account("wb", i, posts=12)
        rows.append(WbAccount(acc, str(5_810_000_001 + i), acc.archetype))
    world.__dict__["_weibo_accounts"] = rows
    return rows


def by_uid(world: World, uid: str) -> WbAccount | None:
    return next((w for w in weibo_accounts(world) if w.uid == uid), None)


def api_time(dt: datetime) -> str:
    return f"{WEEKDAYS[dt.weekday()]} {MONTHS[dt.month - 1]} {dt:%d %H:%M:%S} +0800 {dt.year}"


def created_at(post: DemoPost, as_of: datetime) -> str:
    """Older answers used relative forms: the newest posts are written that way."""
    age = as_of - post.published_at
    if age < timedelta(hours=1):
        return f"{max(int(age.total_seconds() // 60), 1)}分钟前"
    if age < timedelta(hours=24) and post.published_at.date() == as_of.date():
        return f"{int(age.total_seconds() // 3600)}小时前"
    if post.published_at.date() == (as_of - timedelta(days=1)).date():
        return f"昨天 {post.published_at:%H:%M}"
    return api_time(post.published_at)


def mblog_id(wb: WbAccount, post: DemoPost) -> str:
    return str(4_990_000_000_000_000 + int(wb.uid[-2:]) * 10_000 + post.n)


def is_long(post: DemoPost) -> bool:
    return post.n > 0 and post.n % 7 == 0 and bool(post.body)


def long_text(post: DemoPost) -> str:
    return f"{escape(post.title)}<br />{escape(post.body)}<br />{escape(post.body)}"


def mblog(world: World, wb: WbAccount, post: DemoPost, *, pinned: bool = False) -> dict[str, Any]:
    acc, mid = wb.acc, mblog_id(wb, post)
    text = f"【{escape(post.title)}】{escape(post.body)}"
    if is_long(post):
        text = text[:60] + f' ...<a href="/status/{mid}">全文</a>'
    m: dict[str, Any] = {
        "visible": {"type": 0, "list_id": 0},
        "created_at": created_at(post, world.as_of),
        "id": mid,
        "mid": mid,
        "bid": f"Demo{post.n:05d}",
        "text": text,
        "textLength": len(post.body) * 2,
        "source": "微博 weibo.com",
        "isLongText": is_long(post),
        "user": {"id": int(wb.uid), "screen_name": acc.name, "verified": True, "verified_type": 1},
        "reposts_count": post.n * 3,
        "comments_count": post.n,
        "attitudes_count": post.n * 11,
        "pic_num": post.image_count,
        "pics": [
            {"pid": f"demo{mid}{i}", "url": f"https://wx1.sinaimg.cn/orj360/demo{i}.jpg"}
            for i in range(post.image_count)
        ],
        "mblogtype": 2 if pinned else 0,
    }
    if pinned:
        m["isTop"] = 1
        m["title"] = {"text": "置顶", "base_color": 1}
    if post.n % 9 == 0:
        m["page_info"] = {"type": "video", "object_type": 11, "page_title": f"{acc.name}的微博视频"}
    if post.repost_source or (wb.state == "active" and post.n % 4 == 0):
        if post.n % 8 == 0:
            m["retweeted_status"] = {
                "id": "0",
                "deleted": "1",
                "text": "抱歉，此微博已被作者删除。查看帮助：<a href='https://t.cn/demo'>网页链接</a>",
            }
        else:
            source = post.repost_source or "人民日报"
            m["retweeted_status"] = {
                "id": str(4_980_000_000_000_000 + post.n),
                "created_at": api_time(post.published_at - timedelta(hours=2)),
                "text": f"【{escape(post.title)}】转发内容。",
                "user": {"id": 2803301701, "screen_name": source, "verified": True, "verified_type": 3},
            }
        m["text"] = f"转发微博 //<a href='/n/{escape(acc.name)}'>@{escape(acc.name)}</a>:{escape(post.title)}"
        m["isLongText"] = False
    return m


def timeline(world: World, wb: WbAccount, *, page: int, since_id: str | None) -> dict[str, Any]:
    posts = list(wb.acc.posts)
    start = (page - 1) * PAGE
    if since_id:
        start = next((i for i, p in enumerate(posts) if mblog_id(wb, p) == since_id), len(posts))
        page = start // PAGE + 1
    chunk = posts[start : start + PAGE]
    cards = [{"card_type": 9, "itemid": "", "mblog": mblog(world, wb, p)} for p in chunk]
    if start == 0 and wb.pinned is not None:
        cards.insert(0, {"card_type": 9, "mblog": mblog(world, wb, wb.pinned, pinned=True)})
    if start == 0:
        cards.insert(0, {"card_type": 11, "card_group": [{"card_type": 4, "desc": "他的全部微博"}]})
    info: dict[str, Any] = {"containerid": f"107603{wb.uid}", "v_p": 42, "show_style": 1, "total": len(posts)}
    if start + PAGE < len(posts):
        info["since_id"] = int(mblog_id(wb, posts[start + PAGE]))
    return {"ok": 1, "data": {"cardlistInfo": info, "cards": cards, "scheme": ""}}


def profile(wb: WbAccount) -> dict[str, Any]:
    acc = wb.acc
    followers: Any = "12.8万" if wb.state == "active" else 3_210 + int(wb.uid[-2:]) * 7
    user = {
        "id": int(wb.uid),
        "screen_name": acc.name,
        "statuses_count": len(acc.posts) + (1 if wb.pinned else 0),
        "verified": True,
        "verified_type": 1,
        "verified_reason": f"{acc.org}官方微博",
        "description": f"{acc.org}官方微博，发布{acc.region_name}权威政务信息。",
        "follow_count": 120,
        "followers_count": followers,
        "followers_count_str": followers if isinstance(followers, str) else str(followers),
    }
    tabs = [
        {"id": 1, "tabKey": "profile", "title": "精选", "containerid": f"230283{wb.uid}"},
        {"id": 2, "tabKey": "weibo", "title": "微博", "containerid": f"107603{wb.uid}"},
    ]
    return {"ok": 1, "data": {"userInfo": user, "tabsInfo": {"selectedTab": 1, "tabs": tabs}}}


def _json(data: Any, *, conditional: bool = True) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(200, body, "application/json; charset=utf-8", conditional=conditional)


def refusal(wb: WbAccount) -> Response | None:
    if wb.state == "rate_limited":
        return Response(418, b"", "text/html; charset=utf-8", conditional=False)
    if wb.state == "no_content":
        return _json({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}, conditional=False)
    if wb.state == "login_required":
        url = "https://passport.weibo.cn/signin/login?entry=mweibo&r=https%3A%2F%2Fm.weibo.cn%2F"
        return _json({"ok": -100, "url": url}, conditional=False)
    return None


def routes(world: World, router: Router) -> None:
    def get_index(req: Request) -> Response:
        containerid = req.query.get("containerid", "")
        uid = req.query.get("value") or containerid[6:]
        wb = by_uid(world, uid)
        if wb is None:
            return _json({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}, conditional=False)
        refused = refusal(wb)
        if refused is not None:
            return refused
        if containerid.startswith("100505"):
            return _json(profile(wb))
        if containerid.startswith("107603"):
            page = int(req.query.get("page", "1") or 1)
            return _json(timeline(world, wb, page=page, since_id=req.query.get("since_id")))
        return _json({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}, conditional=False)

    def extend(req: Request) -> Response:
        mid = req.query.get("id", "")
        for wb in weibo_accounts(world):
            for post in wb.acc.posts:
                if mblog_id(wb, post) == mid:
                    return _json({"ok": 1, "data": {"ok": 1, "longTextContent": long_text(post)}})
        return _json({"ok": 0, "msg": "微博不存在"}, conditional=False)

    router.add(r"/api/container/getIndex", get_index)
    router.add(r"/statuses/extend", extend)


def targets(world: World, base: str) -> list[dict[str, Any]]:
    return [
        {
            "platform": "weibo",
            "name": wb.acc.name,
            "handle": wb.uid,
            "url": f"{base}/u/{wb.uid}",
            "org": wb.acc.org,
            "region_code": wb.acc.region_code,
            "region_name": wb.acc.region_name,
            "level": wb.acc.level,
            "tags": ["demo", wb.state],
            "options": {"weibo_base": base},
        }
        for wb in weibo_accounts(world)
    ]


def planted(world: World, base: str) -> list[dict[str, Any]]:
    out = []
    for wb in weibo_accounts(world):
        newest = wb.acc.newest
        out.append(
            {
                "platform": "weibo",
                "kind": wb.state,
                "target": wb.acc.name,
                "url": f"{base}/api/container/getIndex?containerid=107603{wb.uid}",
                "details": {
                    "posts": len(wb.acc.posts),
                    "newest": newest.isoformat() if newest else None,
                    "pinned_at": wb.pinned.published_at.isoformat() if wb.pinned else None,
                    "long_text": sum(1 for p in wb.acc.posts if is_long(p)),
                },
            }
        )
    return out


# What detection must find for each planted Weibo state: a refused API (418 rate limit, ok: 0,
# ok: -100 login) is a refusal to us — no finding and 无法检查, never stale.
EXPECTED_RULES: dict[str, tuple[str, ...]] = {
    "active": (),
    "stale": ("account.no_update_14d",),
    "zombie": ("account.zombie", "account.closure_notice", "account.idle_not_deregistered"),
    "closed": ("account.closure_notice", "account.idle_not_deregistered"),
    "closing": ("account.closure_notice",),
    "rate_limited": (),
    "no_content": (),
    "login_required": (),
}
EXPECTED_VERDICTS: dict[str, str] = {
    "active": "合格",
    "stale": "不合格",
    "zombie": "不合格",
    "closed": "合格",
    "closing": "合格",
    "rate_limited": "无法检查",
    "no_content": "无法检查",
    "login_required": "无法检查",
}


def expected_findings(world: World, base: str) -> set[tuple[str, str, str, str]]:
    """(target name, platform, rule, subject) of every finding detection must open for Weibo."""
    out = set()
    for wb in weibo_accounts(world):
        for rule in EXPECTED_RULES[wb.state]:
            subject = ""
            if rule == "account.closure_notice":
                assert wb.acc.notice is not None
                subject = mblog_id(wb, wb.acc.notice)
            out.add((wb.acc.name, "weibo", rule, subject))
    return out
