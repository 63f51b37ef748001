"""The demo world's feed bridge (RSSHub / WeRSS style): RSS 2.0 and Atom feeds and their articles."""

from __future__ import annotations

from email.utils import format_datetime
from html import escape
from typing import Any

from demo.http import Request, Response, Router
from demo.world import DemoAccount, DemoPost, World

UNREACHABLE_BASE = "http://127.0.0.1:9"  # discard port: nothing listens there


def feed_path(acc: DemoAccount) -> str:
    ext = "atom" if acc.archetype == "atom_active" else "xml"
    return f"/feeds/{acc.slug}.{ext}"


def article_url(base: str, acc: DemoAccount, post: DemoPost) -> str:
    return f"{base}/articles/{acc.slug}/{post.n}.html"


def _post_html(post: DemoPost) -> str:
    parts = []
    if post.repost_source:
        parts.append(f"<p>来源：{escape(post.repost_source)}</p>")
    if post.body:
        parts.append(f"<p>{escape(post.body)}</p>")
    parts.extend(f'<p><img src="/static/poster-{post.n}-{i}.png"/></p>' for i in range(post.image_count))
    return "".join(parts)


def _category(post: DemoPost) -> str:
    if post.is_original is None:
        return ""
    return "原创" if post.is_original else "转载"


def render_rss(base: str, acc: DemoAccount) -> str:
    items = []
    for p in acc.posts:
        url = article_url(base, acc, p)
        cat = _category(p)
        items.append(
            "<item>"
            f"<title>{escape(p.title)}</title><link>{url}</link>"
            f'<guid isPermaLink="true">{url}</guid>'
            f"<pubDate>{format_datetime(p.published_at)}</pubDate>"
            f"<dc:creator>{escape(acc.name)}</dc:creator>"
            + (f"<category>{cat}</category>" if cat else "")
            + f"<description><![CDATA[{_post_html(p)}]]></description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>{escape(acc.name)}</title><link>{base}/accounts/{acc.slug}</link>"
        f"<description>{escape(acc.org)}的微信公众号文章 - Powered by demo RSS bridge</description>"
        f'<atom:link href="{base}{feed_path(acc)}" rel="self" type="application/rss+xml"/>'
        + "".join(items)
        + "</channel></rss>"
    )


def render_atom(base: str, acc: DemoAccount) -> str:
    entries = []
    for p in acc.posts:
        url = article_url(base, acc, p)
        cat = _category(p)
        entries.append(
            "<entry>"
            f'<title>{escape(p.title)}</title><link href="{url}"/><id>{url}</id>'
            f"<published>{p.published_at.isoformat()}</published>"
            f"<updated>{p.published_at.isoformat()}</updated>"
            f"<author><name>{escape(acc.name)}</name></author>"
            + (f'<category term="{cat}"/>' if cat else "")
            + f'<content type="html">{escape(_post_html(p))}</content>'
            "</entry>"
        )
    updated = acc.newest.isoformat() if acc.newest else "2000-01-01T00:00:00+08:00"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(acc.name)}</title><id>{base}{feed_path(acc)}</id>"
        f"<updated>{updated}</updated>" + "".join(entries) + "</feed>"
    )


DELETED_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>微信公众平台</title></head><body>"
    "<div class='weui-msg'><div class='weui-msg__text-area'>"
    "<h2 class='weui-msg__title'>此帐号已自主注销，内容无法查看</h2></div></div></body></html>"
)
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>登录</title></head><body>"
    "<form action='/login' method='post'><h2>请先登录后访问订阅源</h2>"
    "<input name='username'/><input name='password' type='password'/>"
    "<button>登录</button></form></body></html>"
)


def routes(world: World, router: Router) -> None:
    def feed(req: Request) -> Response:
        assert req.match is not None
        acc = world.account(req.match["slug"])
        if acc is None:
            return Response(404, b"<h1>404 Not Found</h1>")
        kind = acc.archetype
        if kind == "deleted":
            return Response(200, DELETED_PAGE.encode(), conditional=False)
        if kind == "login_wall":
            return Response(302, b"", headers={"Location": f"/login?next={feed_path(acc)}"})
        if kind == "dead_link":
            return Response(404, b"<html><body><h1>404 Not Found</h1></body></html>")
        if kind == "malformed":
            full = render_rss(req.base_url, acc)
            body = full[: len(full) // 2]  # cut mid-element: not well-formed
            return Response(200, body.encode(), "application/rss+xml; charset=utf-8")
        if req.match["ext"] == "atom":
            return Response(
                200,
                render_atom(req.base_url, acc).encode(),
                "application/atom+xml; charset=utf-8",
                last_modified=acc.newest,
            )
        return Response(
            200,
            render_rss(req.base_url, acc).encode(),
            "application/rss+xml; charset=utf-8",
            last_modified=acc.newest,
        )

    def article(req: Request) -> Response:
        assert req.match is not None
        acc = world.account(req.match["slug"])
        n = int(req.match["n"])
        post = next((p for p in acc.posts if p.n == n), None) if acc else None
        if acc is None or post is None:
            return Response(404, b"<h1>404 Not Found</h1>")
        html = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(post.title)}</title>"
            f"<meta name='ArticleTitle' content='{escape(post.title)}'>"
            f"<meta name='PubDate' content='{post.published_at:%Y-%m-%d %H:%M}'></head><body>"
            f"<h1>{escape(post.title)}</h1><div class='source'>{escape(acc.name)}</div>"
            f"<div class='content'>{_post_html(post)}</div></body></html>"
        )
        return Response(200, html.encode(), last_modified=post.published_at)

    def login(req: Request) -> Response:
        return Response(200, LOGIN_PAGE.encode(), conditional=False)

    router.add(r"/feeds/(?P<slug>[\w-]+)\.(?P<ext>xml|atom)", feed)
    router.add(r"/articles/(?P<slug>[\w-]+)/(?P<n>\d+)\.html", article)
    router.add(r"/login", login)


def targets(world: World, base: str) -> list[dict[str, Any]]:
    rows = []
    for acc in world.feed_accounts:
        feed_base = UNREACHABLE_BASE if acc.archetype == "unreachable" else base
        rows.append(
            {
                "platform": "feed",
                "name": acc.name,
                "feed": f"{feed_base}{feed_path(acc)}",
                "org": acc.org,
                "region_code": acc.region_code,
                "region_name": acc.region_name,
                "level": acc.level,
                "tags": ["demo", acc.archetype],
            }
        )
    return rows


# What detection must find on each planted feed account; nothing else, and nothing at all on active /
# atom_active / hard_negative. A feed that is gone or unreadable (deleted, dead link, malformed,
# unreachable) is account.unavailable, never stale; a login wall is a refusal to us: no finding at all.
EXPECTED_RULES: dict[str, tuple[str, ...]] = {
    "active": (),
    "atom_active": (),
    "stale": ("account.no_update_14d",),
    "zombie": ("account.zombie", "account.closure_notice", "account.idle_not_deregistered"),
    "closed": ("account.closure_notice", "account.idle_not_deregistered"),
    "closing": ("account.closure_notice",),
    "repost_heavy": ("account.repost_heavy",),
    "poster_only": ("account.poster_only",),
    # 第N周工作周报 with the same body every week: meeting/report-heavy and near-duplicates
    "weekly_report_only": ("account.meeting_heavy", "account.duplicate_posts"),
    "hard_negative": (),
    "deleted": ("account.unavailable",),
    "login_wall": (),
    "dead_link": ("account.unavailable",),
    "malformed": ("account.unavailable",),
    "unreachable": ("account.unavailable",),
}


# The verdict each planted state must get (合格 / 不合格 / 无法检查).
EXPECTED_VERDICTS: dict[str, str] = {
    **dict.fromkeys(
        ("active", "atom_active", "closed", "closing", "repost_heavy", "poster_only", "weekly_report_only"),
        "合格",
    ),
    "hard_negative": "合格",
    "stale": "不合格",
    "zombie": "不合格",
    **dict.fromkeys(("deleted", "login_wall", "dead_link", "malformed", "unreachable"), "无法检查"),
}


def planted(world: World, base: str) -> list[dict[str, Any]]:
    """The planted feed accounts' states and the findings (rule ids) detection must report for them."""
    out = []
    for acc in world.feed_accounts[:15]:
        details: dict[str, Any] = {
            "rules": list(EXPECTED_RULES.get(acc.archetype, ())),
            "verdict": EXPECTED_VERDICTS[acc.archetype],
        }
        if acc.archetype == "closed":
            details |= {"effective_days_before_as_of": 25, "migration_target": "临江市人民政府门户网站"}
        elif acc.archetype == "closing":
            details |= {"effective_days_after_as_of": 20, "migration_target": "云川发布", "status": "closing"}
        elif acc.archetype == "zombie":
            details |= {"migration_target": f"{acc.region_name[:2]}发布", "status": "closed"}
        out.append(
            {"kind": acc.archetype, "target": acc.name, "url": f"{base}{feed_path(acc)}", "details": details}
        )
    return out


def expected_findings(world: World, base: str) -> set[tuple[str, str, str, str]]:
    """(target name, platform, rule, subject) of every finding detection must open for the feeds.

    From planted(): an account-level rule has subject ''; a closure notice's subject is the notice
    post's id (its article URL for a feed).
    """
    out = set()
    for p, acc in zip(planted(world, base), world.feed_accounts[:15], strict=True):
        for rule in p["details"]["rules"]:
            subject = ""
            if rule == "account.closure_notice":
                assert acc.notice is not None
                subject = article_url(base, acc, acc.notice)
            out.add((p["target"], "feed", rule, subject))
    return out
