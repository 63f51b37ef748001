"""The demo world's WeChat: MP list endpoint, article pages and their state pages, Sogou search, a JS list."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from html import escape
from typing import Any

from demo.http import Request, Response, Router
from demo.world import DemoAccount, DemoPost, World

# The session the MP endpoint accepts; tests pass them through MONITOR_WECHAT_TOKEN / _COOKIE.
DEMO_TOKEN = "1789654321"  # noqa: S105 - a fixed demo value, not a credential
DEMO_COOKIE = "slave_user=gh_demo; slave_sid=ZGVtby1zaWQtN2YzYTljMmI0ZA=="
PAGE = 5  # the MP list's count


@dataclass
class WxAccount:
    acc: DemoAccount
    mode: str  # mp / urls / sogou / page
    state: str  # what the world plants: active, freq_control, deleted_article, banned, ...
    biz: str
    wechat_id: str
    extra: dict[str, Any] = field(default_factory=dict)


# (slug, archetype for posts, region, bureau, posts, mode, planted state)
SPECS = (
    ("wx-linjiang-fabu", "active", 1, None, 8, "mp", "active"),
    ("wx-qingshan-jiaoyu", "stale", 2, 3, 6, "mp", "stale"),
    ("wx-hekou-kexie", "zombie", 3, 4, 6, "mp", "zombie"),
    ("wx-qingshan-zhujian", "closed", 2, 2, 6, "mp", "closed"),
    ("wx-yunchuan-weijian", "none", 5, 5, 0, "mp", "freq_control"),
    ("wx-hekou-wenlv", "none", 3, 0, 0, "mp", "invalid_args"),
    ("wx-linjiang-wenlv", "repost_heavy", 1, 0, 5, "urls", "repost_heavy"),
    ("wx-hekou-shichang", "poster_only", 3, 1, 5, "urls", "poster_only"),
    ("wx-yunchuan-shengtai", "none", 5, 6, 0, "urls", "deleted_article"),
    ("wx-linjiang-shichang", "none", 1, 1, 0, "urls", "banned"),
    ("wx-shiqiao-zhengwu", "none", 4, None, 0, "urls", "migrated"),
    ("wx-qingshan-kexie", "none", 2, 4, 0, "urls", "cancelled"),
    ("wx-shifan-weijian", "none", 0, 5, 0, "urls", "verification"),
    ("wx-shifan-fabu", "active", 0, None, 3, "sogou", "active"),
    ("wx-linjiang-jiaoyu", "stale", 1, 3, 3, "sogou", "stale"),
    ("wx-yunchuan-jiaoyu", "none", 5, 3, 0, "sogou", "antispider"),
    ("wx-yunchuan-fabu", "active", 5, None, 4, "page", "active"),
)


def wechat_accounts(world: World) -> list[WxAccount]:
    cached = world.__dict__.get("_wechat_accounts")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    rows = []
    for i, (slug, archetype, region, bureau, posts, mode, state) in enumerate(SPECS):
        acc = world.make_account(slug, archetype, region, bureau, posts=posts)
        biz = base64.b64encode(str(3_086_000_000 + i).encode()).decode()
        rows.append(WxAccount(acc, mode, state, biz, f"{slug.replace('wx-', '').replace('-', '')}gov"))
    for i in range(world.wechat_extra):
        acc = world.extra_account("wx", i, posts=8)
        biz = base64.b64encode(str(3_087_000_000 + i).encode()).decode()
        rows.append(WxAccount(acc, "mp", acc.archetype, biz, f"x{i:05d}gov"))
    world.__dict__["_wechat_accounts"] = rows
    return rows


def by_biz(world: World, biz: str) -> WxAccount | None:
    return next((w for w in wechat_accounts(world) if w.biz == biz), None)


def mid_of(post: DemoPost) -> int:
    return 2_650_000_000 + post.n


def article_url(base: str, wx: WxAccount, mid: int, idx: int = 1) -> str:
    return f"{base}/s?__biz={wx.biz}&mid={mid}&idx={idx}&sn={mid:x}{idx}demo"


def _copyright(post: DemoPost) -> int:
    return 11 if post.is_original else 101 if post.is_original is False else 0


def render_article(base: str, wx: WxAccount, post: DemoPost) -> str:
    """An article page in the shape of mp.weixin.qq.com/s (2023+): script variables and #js_content."""
    acc, mid = wx.acc, mid_of(post)
    ts = int(post.published_at.timestamp())
    link = article_url(base, wx, mid).replace("&", "\\x26amp;")
    body = []
    if post.repost_source:
        body.append(f"<p>来源：{escape(post.repost_source)}</p>")
    if post.body:
        body.append(f"<p>{escape(post.body)}</p>")
    body.extend(
        f'<p><img class="rich_pages wxw-img" data-src="https://mmbiz.qpic.cn/demo/{mid}-{i}/640" '
        f'data-type="png" data-w="1080"/></p>'
        for i in range(post.image_count)
    )
    logo = (
        '<span id="copyright_logo" class="rich_media_meta icon_appmsg_tag">原创</span>'
        if post.is_original
        else ""
    )
    source_url = f"http://www.news.cn/politics/{mid}.htm" if post.repost_source else ""
    title = escape(post.title)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:title" content="{title}"/><meta name="author" content="{escape(acc.org)}"/>
<script>var biz = "" || "{wx.biz}"; var sn = "" || "" || "{mid:x}1demo";
var mid = "" || "" || "{mid}"; var idx = "" || "" || "1";</script></head>
<body id="activity-detail" class="zh_CN"><div id="page-content" class="rich_media_area_primary">
<div id="img-content"><h1 class="rich_media_title" id="activity-name">{title}</h1>
<div id="meta_content" class="rich_media_meta_list">{logo}
<span class="rich_media_meta rich_media_meta_text">{escape(acc.org)}</span>
<span class="rich_media_meta rich_media_meta_nickname" id="profileBt">
<a href="javascript:void(0);" id="js_name">{escape(acc.name)}</a></span>
<em id="publish_time" class="rich_media_meta rich_media_meta_text"></em></div>
<div class="rich_media_content js_underline_content" id="js_content" style="visibility: hidden;">
{"".join(body)}</div></div></div>
<script>
var nickname = htmlDecode("{escape(acc.name)}");
var user_name = "gh_{wx.wechat_id[:12]}";
var ct = "{ts}";
var create_time = "{ts}" * 1;
var msg_title = '{title}'.html(false);
var msg_link = "{link}";
var msg_source_url = '{source_url}';
var copyright_stat = "{_copyright(post)}" * 1;
var item_show_type = "0";
window.ip_wording = {{ countryName: '中国', countryId: '156', provinceName: '示范', cityName: '' }};
</script></body></html>"""


def weui_page(title: str, desc: str = "", script: str = "") -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title></title>'
        f"<script>{script}</script></head><body><div class='weui-msg'><div class='weui-msg__text-area'>"
        f"<h2 class='weui-msg__title'>{title}</h2><p class='weui-msg__desc'>{desc}</p>"
        "</div></div></body></html>"
    )


STATE_PAGES = {
    "deleted_article": lambda base, wx: weui_page("该内容已被发布者删除"),
    "banned": lambda base, wx: weui_page("此帐号已被屏蔽, 内容无法查看"),
    "cancelled": lambda base, wx: weui_page("此帐号已自主注销，内容无法查看"),
    "migrated": lambda base, wx: weui_page(
        "该公众号已迁移",
        "该公众号已迁移至新帐号，原帐号已回收。若需访问原文章链接，请点击下方按钮。",
        f"var transferTargetLink = '{base}/s?__biz=TkVXQklaMjAyNg==\\x26amp;mid=2650000001\\x26amp;idx=1';",
    ),
}


def _articles(wx: WxAccount) -> list[DemoPost]:
    return list(wx.acc.posts)


def publish_page(base: str, wx: WxAccount, begin: int) -> dict[str, Any]:
    posts = _articles(wx)
    publish_list = []
    for post in posts[begin : begin + PAGE]:
        mid = mid_of(post)
        ts = int(post.published_at.timestamp())
        info = {
            "type": 9,
            "msgid": mid,
            "sent_info": {"time": ts},
            "appmsgex": [
                {
                    "aid": f"{mid}_1",
                    "appmsgid": mid,
                    "itemidx": 1,
                    "title": post.title,
                    "digest": post.body[:54],
                    "link": article_url(base, wx, mid),
                    "cover": f"https://mmbiz.qpic.cn/demo/{mid}/0",
                    "create_time": ts,
                    "update_time": ts,
                    "copyright_stat": _copyright(post),
                    "item_show_type": 0,
                    "is_deleted": False,
                }
            ],
        }
        publish_list.append(
            {"publish_type": 101, "publish_info": json.dumps(info, ensure_ascii=False, separators=(",", ":"))}
        )
    page = {
        "total_count": len(posts),
        "publish_count": len(posts),
        "masssend_count": 0,
        "publish_list": publish_list,
    }
    return {
        "base_resp": {"ret": 0, "err_msg": "ok"},
        "is_admin": True,
        "publish_page": json.dumps(page, ensure_ascii=False, separators=(",", ":")),
    }


ANTISPIDER_PAGE = """<!DOCTYPE HTML><html><head><meta charset="utf-8"><title>搜狗搜索</title>
<script src="static/js/antispider.min.js?v=2"></script></head><body>
<div class="header"><div class="other"><span class="s1">您的访问出错了</span></div></div>
<div class="content-box"><p class="ip-time-p">IP:127.0.0.1<br>访问时间：2026.06.30 12:00:00</p>
<p class="p2">用户您好，您的访问过于频繁，为确认本次访问为正常用户行为，需要您协助验证。</p>
<form name="authform" method="POST" id="seccodeForm" action="/"><p class="p4">
<input type=text name="c" value="" placeholder="请输入验证码" id="seccodeInput"></p></form>
</div></body></html>"""


def highlight(text: str, query: str) -> str:
    """Text as Sogou marks the query's words in it: each two-character word of the query in <em>."""
    out = escape(text)
    for word in dict.fromkeys(query[i : i + 2] for i in range(0, len(query), 2)):
        if len(word) == 2:
            out = out.replace(escape(word), f"<em><!--red_beg-->{escape(word)}<!--red_end--></em>")
    return out


def sogou_results(wx_list: list[WxAccount], query: str = "") -> str:
    items = []
    for i, wx in enumerate(wx_list):
        acc = wx.acc
        newest = acc.posts[0] if acc.posts else None
        latest = ""
        if newest is not None:
            ts = int(newest.published_at.timestamp())
            latest = (
                f"<dl><dt>最近文章：</dt><dd><a target='_blank' uigs='account_article_{i}' "
                f"href='/link?url=dn9a_-gY295K0Rci_xozVXfdMkSQTLW6cwJThYulHEtVjXrGTiVgS{ts}'>"
                f"{escape(newest.title)}</a><span><script>document.write(timeConvert('{ts}'))</script>"
                "</span></dd></dl>"
            )
        items.append(
            f"<li id='sogou_vr_11002301_box_{i}' d='oIWsFt{i}'><div class='gzh-box2'>"
            f"<div class='img-box'><a target='_blank' uigs='account_image_{i}' href='/gzh?openid={wx.biz}'>"
            "<span></span><img src='//img01.sogoucdn.com/app/a/100520090/demo'>"
            f"</a></div><div class='txt-box'><p class='tit'><a target='_blank' uigs='account_name_{i}' "
            f"href='/gzh?openid={wx.biz}'>{highlight(acc.name, query)}</a></p>"
            f"<p class='info'>微信号：<label name='em_weixinhao'>{wx.wechat_id}</label></p></div></div>"
            f"<dl><dt>功能介绍：</dt><dd>{highlight(f'发布{acc.region_name}政务信息。', query)}</dd></dl>"
            f"<dl><dt>微信认证：</dt><dd>{escape(acc.org)}</dd></dl>{latest}</li>"
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>搜狗微信搜索</title></head><body>"
        "<div class='news-box'><ul class='news-list2'>" + "".join(items) + "</ul></div></body></html>"
    )


def album_page(base: str, wx: WxAccount) -> str:
    """An account's article list that exists only after its script runs (like appmsgalbum pages)."""
    data = [
        {"title": p.title, "url": article_url(base, wx, mid_of(p)), "ct": int(p.published_at.timestamp())}
        for p in wx.acc.posts
    ]
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{escape(wx.acc.name)} · 合集</title></head><body>"
        f"<h1 class='album__title'>{escape(wx.acc.name)}</h1><ul id='js_album_list' class='album__list'></ul>"
        "<script>var articleList = " + json.dumps(data, ensure_ascii=False) + ";\n"
        "document.getElementById('js_album_list').innerHTML = articleList.map(function (a) {"
        "  return '<li class=\"album__list-item\"><a href=\"' + a.url + '\">' + a.title + '</a>'"
        "    + '<span class=\"js_article_create_time\">' + a.ct + '</span></li>'; }).join('');"
        "</script></body></html>"
    )


def captcha(req: Request) -> Response:
    page = weui_page("环境异常", "当前环境异常，完成验证后即可继续访问。<a>去验证</a>")
    return Response(200, page.encode(), conditional=False)


def antispider(req: Request) -> Response:
    return Response(200, ANTISPIDER_PAGE.encode(), conditional=False)


def routes(world: World, router: Router) -> None:
    def mp_list(req: Request) -> Response:
        cookie = req.headers.get("cookie", "")
        if (
            req.query.get("token") != DEMO_TOKEN
            or "slave_sid=" + DEMO_COOKIE.split("slave_sid=")[1] not in cookie
        ):
            body = {"base_resp": {"ret": 200003, "err_msg": "invalid session"}}
            return Response(200, json.dumps(body).encode(), "application/json", conditional=False)
        wx = by_biz(world, req.query.get("fakeid", ""))
        if wx is None or wx.state == "invalid_args":
            body = {"base_resp": {"ret": 200002, "err_msg": "invalid args"}}
            return Response(200, json.dumps(body).encode(), "application/json", conditional=False)
        if wx.state == "freq_control":
            body = {"base_resp": {"ret": 200013, "err_msg": "freq control"}}
            return Response(200, json.dumps(body).encode(), "application/json", conditional=False)
        page = publish_page(req.base_url, wx, int(req.query.get("begin", "0") or 0))
        return Response(200, json.dumps(page, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def article(req: Request) -> Response:
        wx = by_biz(world, req.query.get("__biz", ""))
        if wx is None:
            return Response(200, weui_page("链接已过期").encode(), conditional=False)
        if wx.state == "verification":
            return captcha(req)
        if wx.state in STATE_PAGES:
            return Response(200, STATE_PAGES[wx.state](req.base_url, wx).encode(), conditional=False)
        mid = int(req.query.get("mid", "0") or 0)
        post = next((p for p in wx.acc.posts if mid_of(p) == mid), None)
        if post is None:
            return Response(200, weui_page("该内容已被发布者删除").encode(), conditional=False)
        return Response(200, render_article(req.base_url, wx, post).encode(), last_modified=post.published_at)

    def sogou(req: Request) -> Response:
        query = req.query.get("query", "")
        matches = [w for w in wechat_accounts(world) if w.mode == "sogou" and query and query in w.acc.name]
        if any(w.state == "antispider" for w in matches):
            # Served in place of the results (the real interstitial's form posts back to r=/weixin?…).
            return antispider(req)
        return Response(200, sogou_results(matches, query).encode())

    def album(req: Request) -> Response:
        assert req.match is not None
        wx = next((w for w in wechat_accounts(world) if w.acc.slug == req.match["slug"]), None)
        if wx is None:
            return Response(404, b"<h1>404 Not Found</h1>")
        return Response(200, album_page(req.base_url, wx).encode(), conditional=False)

    router.add(r"/cgi-bin/appmsgpublish", mp_list)
    router.add(r"/s", article)
    router.add(r"/mp/wappoc_appmsgcaptcha", captcha)
    router.add(r"/weixin", sogou)
    router.add(r"/antispider/", antispider)
    router.add(r"/wechat/album/(?P<slug>[\w-]+)", album)


def targets(world: World, base: str) -> list[dict[str, Any]]:
    rows = []
    for wx in wechat_accounts(world):
        acc = wx.acc
        row: dict[str, Any] = {
            "platform": "wechat",
            "name": acc.name,
            "handle": wx.biz,
            "org": acc.org,
            "region_code": acc.region_code,
            "region_name": acc.region_name,
            "level": acc.level,
            "tags": ["demo", wx.state, f"wechat_{wx.mode}"],
        }
        if wx.mode == "mp":
            row["options"] = {"mode": "mp", "fakeid": wx.biz, "mp_base": base}
        elif wx.mode == "urls":
            urls = [article_url(base, wx, mid_of(p)) for p in acc.posts] or [
                article_url(base, wx, 2_650_000_001)
            ]
            row["options"] = {"mode": "urls", "article_urls": urls}
        elif wx.mode == "sogou":
            row["handle"] = wx.wechat_id
            row["options"] = {"mode": "sogou", "sogou_base": base}
        else:
            row["url"] = f"{base}/wechat/album/{acc.slug}"
            row["render"] = "js"
            row["options"] = {"mode": "page"}
        rows.append(row)
    return rows


def planted(world: World, base: str) -> list[dict[str, Any]]:
    out = []
    for wx in wechat_accounts(world):
        newest = wx.acc.newest
        out.append(
            {
                "platform": "wechat",
                "kind": wx.state,
                "target": wx.acc.name,
                "mode": wx.mode,
                "url": f"{base}/wechat/album/{wx.acc.slug}" if wx.mode == "page" else None,
                "details": {"posts": len(wx.acc.posts), "newest": newest.isoformat() if newest else None},
            }
        )
    return out


# What detection must find for each planted WeChat state: a deleted / banned / migrated / cancelled
# account, an invalid-argument answer and an account whose every listed article is deleted are
# account.unavailable, never stale; a refusal to us (frequency control, a verification or anti-spider
# wall) opens nothing. All of these are 无法检查.
EXPECTED_RULES: dict[str, tuple[str, ...]] = {
    "active": (),
    "stale": ("account.no_update_14d",),
    "zombie": ("account.zombie", "account.closure_notice", "account.idle_not_deregistered"),
    "closed": ("account.closure_notice", "account.idle_not_deregistered"),
    "repost_heavy": ("account.repost_heavy",),
    "poster_only": ("account.poster_only",),
    "freq_control": (),
    "invalid_args": ("account.unavailable",),
    "deleted_article": ("account.unavailable",),
    "banned": ("account.unavailable",),
    "migrated": ("account.unavailable",),
    "cancelled": ("account.unavailable",),
    "verification": (),
    "antispider": (),
}
EXPECTED_VERDICTS: dict[str, str] = {
    **dict.fromkeys(("active", "closed", "repost_heavy", "poster_only"), "合格"),
    "stale": "不合格",
    "zombie": "不合格",
    **dict.fromkeys(
        (
            "freq_control",
            "invalid_args",
            "deleted_article",
            "banned",
            "migrated",
            "cancelled",
            "verification",
            "antispider",
        ),
        "无法检查",
    ),
}


def post_id(wx: WxAccount, post: DemoPost) -> str:
    """posts.post_id of an article as the wechat spider stores it: biz_mid_idx."""
    return f"{wx.biz}_{mid_of(post)}_1"


def expected_findings(world: World, base: str) -> set[tuple[str, str, str, str]]:
    """(target name, platform, rule, subject) of every finding detection must open for WeChat."""
    out = set()
    for wx in wechat_accounts(world):
        for rule in EXPECTED_RULES[wx.state]:
            subject = ""
            if rule == "account.closure_notice":
                assert wx.acc.notice is not None
                subject = post_id(wx, wx.acc.notice)
            out.add((wx.acc.name, "wechat", rule, subject))
    return out
