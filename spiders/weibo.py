"""Weibo through the mobile JSON API (m.weibo.cn): profile, paged timeline, long text, pinned posts."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, cast
from urllib.parse import urlencode

from scrapy.http import Response
from twisted.python.failure import Failure

from core.clock import iso, to_china
from core.dates import parse_timestamp
from core.enums import AccountStatus, CheckKind, CheckOutcome, PostKind
from core.fields import note_bad_field
from core.items import AccountItem, AccountSeenItem, PostItem
from core.text import html_to_text
from spiders.answers import read_json
from spiders.base import MonitorSpider, SourceError
from spiders.fields import as_dict, as_dicts, as_int, as_list, as_str
from spiders.outcomes import outcome_for_status


def parse_weibo_time(text: str | None, now: datetime) -> datetime | None:
    """created_at in every form the API has used: ``Sat Jun 01 10:00:00 +0800 2024``, 刚刚, N分钟前,
    N小时前, 今天/昨天 HH:MM, MM-DD (this year; last year if that is in the future), YYYY-MM-DD."""
    if not isinstance(text, str) or not text.strip():
        return None
    return parse_timestamp(text.strip(), ref=to_china(now))


def parse_count(value: Any) -> int | None:
    """Counts as the API writes them: 1363591, "145.5万", "1.2亿", "10万+", "1,234"."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if not isinstance(value, float | str):
        return None
    text = str(value).strip().replace(",", "").rstrip("+")
    scale = 1
    if text.endswith("万"):
        scale, text = 10_000, text[:-1]
    elif text.endswith("亿"):
        scale, text = 100_000_000, text[:-1]
    try:
        return round(float(text) * scale)
    except (ValueError, OverflowError):  # junk, nan, inf
        return None


def _dict(value: Any, name: str = "") -> dict[str, Any]:
    """A JSON object where one belongs; anything else (a string, a list) reads as empty, counted."""
    if isinstance(value, dict):
        return value
    if value not in (None, "", [], 0) and name:
        note_bad_field(name)
    return {}


def _list(value: Any, name: str = "") -> list[Any]:
    if isinstance(value, list):
        return value
    if value not in (None, "", {}, 0) and name:
        note_bad_field(name)
    return []


def check_ok(data: Any) -> dict[str, Any]:
    """The ``data`` of an ok answer; a refusal or an answer of another shape raises SourceError."""
    if not isinstance(data, dict):
        raise SourceError(CheckOutcome.MALFORMED, "answer is not a JSON object")
    ok = data.get("ok")
    if not isinstance(ok, int) or isinstance(ok, bool):
        raise SourceError(CheckOutcome.MALFORMED, f"ok is not a number: {str(ok)[:40]!r}")
    if ok == 1:
        return as_dict(data.get("data"))
    if ok == -100:
        url = as_str(data.get("url")) or as_str(as_dict(data.get("data")).get("url")) or ""
        raise SourceError(CheckOutcome.BLOCKED, f"ok -100: login/verification required {url}".strip())
    msg = as_str(data.get("msg")) or ""
    # 这里还没有内容 comes for a bad uid and for a refused guest alike: not proof the account closed.
    reason = f"ok {ok}: {msg or 'no data'} (bad uid or refused; not a closure)"
    raise SourceError(CheckOutcome.BLOCKED, reason)


@dataclass
class Profile:
    uid: str
    screen_name: str | None
    followers: int | None
    followers_text: str | None
    verified: int | None
    verified_type: int | None
    verified_reason: str | None
    description: str | None
    statuses_count: int | None
    timeline_containerid: str


# A timeline container as tabsInfo names it: digits, then maybe a _-_ suffix (…_-_WEIBO_SECOND_PROFILE_WEIBO).
CONTAINERID = re.compile(r"\d{6,20}(?:_-_[A-Z0-9_]{1,60})?")
NEWER_TIMELINE, OLDER_TIMELINE = "230413", "107603"


def is_container_of(cid: str | None, uid: str) -> bool:
    """A container id of the user ``uid``: a six-digit kind, the uid, maybe a _-_ suffix."""
    return bool(cid and CONTAINERID.fullmatch(cid) and cid[6:].split("_-_")[0] == uid)


def timeline_containerid(tabs: Any, uid: str) -> str:
    """The container to read the timeline from: a 230413{uid} one the profile names (newer profiles name
    it for the 微博 tab), else the 微博 tab's, else 107603{uid}."""
    named: list[tuple[bool, str]] = []  # (the 微博 tab?, containerid), in tab order
    for tab in as_dicts(tabs):
        cid = as_str(tab.get("containerid"))
        if cid and is_container_of(cid, uid):
            named.append(("weibo" in (tab.get("tabKey"), tab.get("tab_type")), cid))
    newer = sorted((n for n in named if n[1].startswith(NEWER_TIMELINE + uid)), key=lambda n: not n[0])
    weibo_tab = [n for n in named if n[0]]
    for choice in (newer, weibo_tab):
        if choice:
            return choice[0][1]
    return f"{OLDER_TIMELINE}{uid}"


def parse_profile(data: Any) -> Profile:
    body = check_ok(data)
    user = as_dict(body.get("userInfo"))
    uid = as_str(user.get("id"))
    if uid is None or not uid.isdigit():
        raise SourceError(CheckOutcome.MALFORMED, "no data.userInfo.id in the profile answer")
    followers = user.get("followers_count")
    followers_text = as_str(user.get("followers_count_str")) or as_str(followers)
    return Profile(
        uid=uid,
        screen_name=as_str(user.get("screen_name")),
        followers=parse_count(followers),
        followers_text=followers_text,
        verified=int(user["verified"]) if isinstance(user.get("verified"), bool | int) else None,
        verified_type=as_int(user.get("verified_type")),
        verified_reason=as_str(user.get("verified_reason")),
        description=as_str(user.get("description")),
        statuses_count=parse_count(user.get("statuses_count")),
        timeline_containerid=timeline_containerid(as_dict(body.get("tabsInfo")).get("tabs"), uid),
    )


def profile_to_account(profile: Profile, *, target_id: int) -> AccountItem:
    return AccountItem(
        target_id=target_id,
        status=AccountStatus.ACTIVE,
        name=profile.screen_name,
        followers=profile.followers,
        followers_text=profile.followers_text,
        verified=profile.verified,
        verified_type=profile.verified_type,
        verified_reason=profile.verified_reason,
        description=profile.description,
        posts_count=profile.statuses_count,
        timeline_containerid=profile.timeline_containerid,
    )


@dataclass
class Timeline:
    mblogs: list[dict[str, Any]] = field(default_factory=list)
    total: int | None = None
    since_id: str | None = None


def timeline_cards(cards: Any) -> list[dict[str, Any]]:
    """The cards in page order, with those a group card holds in its place (230413 answers put the
    pinned post in a card_group)."""
    flat = []
    for card in as_dicts(cards):
        flat.extend(as_dicts(card.get("card_group")) if card.get("card_type") == 11 else [card])
    return flat


def parse_timeline(data: Any) -> Timeline:
    """The mblogs of a timeline page, in page order; cards other than type 9 are skipped."""
    body = check_ok(data)
    cards = body.get("cards")
    if not isinstance(cards, list):
        raise SourceError(CheckOutcome.MALFORMED, "no data.cards in the timeline answer")
    info = as_dict(body.get("cardlistInfo"))
    since = as_str(info.get("since_id"))
    return Timeline(
        mblogs=[
            c["mblog"]
            for c in timeline_cards(cards)
            if c.get("card_type") == 9 and isinstance(c.get("mblog"), dict)
        ],
        total=parse_count(info.get("total")),
        since_id=since if since not in (None, "0") else None,
    )


def is_pinned(mblog: dict[str, Any]) -> bool:
    title = as_dict(mblog.get("title")).get("text")
    return bool(mblog.get("isTop")) or mblog.get("mblogtype") == 2 or title == "置顶"


def mblog_to_post(mblog: dict[str, Any], *, target_id: int, now: datetime, base: str) -> PostItem:
    """One post; text with HTML stripped; a retweet names its source (or says the source is deleted)."""
    retweet = mblog.get("retweeted_status")
    source = None
    if isinstance(retweet, dict):
        if str(retweet.get("deleted")) == "1":
            source = "(已删除)"
        else:
            source = as_str(as_dict(retweet.get("user")).get("screen_name")) or "(未知)"
    page = as_dict(mblog.get("page_info"))
    text = mblog.get("text")
    published = parse_weibo_time(mblog.get("created_at"), now)
    if published is None and mblog.get("created_at") not in (None, ""):
        note_bad_field("published_at")
    post_id = as_str(mblog.get("id")) or as_str(mblog.get("mid"))
    return PostItem(
        target_id=target_id,
        platform="weibo",
        post_id=post_id or "",  # none: dropped by the normalize stage
        url=f"{base}/status/{as_str(mblog.get('bid')) or post_id}" if post_id else None,
        text=html_to_text(text if isinstance(text, str) else None),
        published_at=iso(published) if published else None,  # unknown form: keep the post, not a guess
        kind=PostKind.RETWEET if retweet else PostKind.WEIBO,
        is_original=0 if retweet else 1,
        is_repost=1 if retweet else 0,
        repost_source=source,
        is_pinned=1 if is_pinned(mblog) else 0,
        image_count=parse_count(mblog.get("pic_num")) or len(as_list(mblog.get("pics"))),
        video_count=1 if page.get("type") == "video" else 0,
        reposts_count=parse_count(mblog.get("reposts_count")),
        comments_count=parse_count(mblog.get("comments_count")),
        likes_count=parse_count(mblog.get("attitudes_count")),
    )


def parse_long_text(data: Any) -> str:
    body = check_ok(data)
    text = body.get("longTextContent")
    if not isinstance(text, str):
        raise SourceError(CheckOutcome.MALFORMED, "no data.longTextContent")
    return html_to_text(text)


# --- the spider -----------------------------------------------------------------------------------


class WeiboSpider(MonitorSpider):
    """Weibo targets (handle = numeric uid). Re-check: timeline page 1 only, conditional; the profile is
    read on the first check and whenever the timeline shows new posts."""

    name = "weibo"
    platforms: ClassVar[tuple[str, ...]] = ("weibo",)
    uses_browser: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = "https://m.weibo.cn"
        self.max_pages = 10
        self.mobile_ua = ""
        self.cookie = os.environ.get("MONITOR_WEIBO_COOKIE", "").strip()
        self.profiled: set[int] = set()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> WeiboSpider:
        spider = cast(WeiboSpider, super().from_crawler(crawler, *args, **kwargs))
        spider.base = crawler.settings.get("MONITOR_WEIBO_BASE", spider.base).rstrip("/")
        spider.max_pages = crawler.settings.getint("MONITOR_LIST_MAX_PAGES", 10)
        # The mobile API answers mobile browsers; the project's name and contact stay in the UA.
        spider.mobile_ua = f"Mozilla/5.0 (Linux; Android 13; Mobile) {crawler.settings.get('USER_AGENT')}"
        return spider

    def base_of(self, target: dict[str, Any]) -> str:
        return str((target.get("options") or {}).get("weibo_base") or self.base).rstrip("/")

    def api(
        self,
        target: dict[str, Any],
        callback: Any,
        *,
        kind: CheckKind,
        conditional: bool,
        errback: Any = None,
        **params: Any,
    ) -> Any:
        base = self.base_of(target)
        path = params.pop("path", "/api/container/getIndex")
        url = f"{base}{path}?{urlencode(params)}"
        uid = target["handle"]
        headers = {
            "User-Agent": self.mobile_ua,
            "MWeibo-Pwa": "1",
            "X-Requested-With": "XMLHttpRequest",
            "Referer": f"{base}/u/{uid}",
            "Accept": "application/json, text/plain, */*",
        }
        if self.cookie:
            headers["Cookie"] = self.cookie
        return self.target_request(
            url,
            target,
            callback,
            kind=kind,
            conditional=conditional,
            headers=headers,
            errback=errback,
            dont_merge_cookies=bool(self.cookie),
        )

    def profile_request(self, target: dict[str, Any]) -> Any:
        self.profiled.add(target["id"])
        uid = target["handle"]
        return self.api(
            target,
            self.parse_profile,
            kind=CheckKind.API,
            conditional=True,
            type="uid",
            value=uid,
            containerid=f"100505{uid}",
        )

    def timeline_request(
        self, target: dict[str, Any], containerid: str, page: int, since_id: str | None = None
    ) -> Any:
        uid = target["handle"]
        params: dict[str, Any] = {"type": "uid", "value": uid, "containerid": containerid}
        if since_id:
            params["since_id"] = since_id
        elif page > 1:
            params["page"] = page
        req = self.api(target, self.parse_timeline, kind=CheckKind.API, conditional=page == 1, **params)
        req.meta.update(page=page, containerid=containerid)
        return req

    def start_target(self, target: dict[str, Any]) -> Iterator[Any]:
        if target["id"] not in self.accounts_seen:
            yield self.profile_request(target)
        else:
            yield self.timeline_request(target, self.stored_timeline(target), 1)

    def stored_timeline(self, target: dict[str, Any]) -> str:
        """The timeline container the account's profile named when last read; 107603{uid} when none did
        (or the one stored belongs to another uid: the target's handle was corrected since)."""
        uid = str(target["handle"])
        stored = self.account_ids.get(target["id"], {}).get("timeline_containerid")
        return (
            stored if stored and CONTAINERID.fullmatch(stored) and uid in stored else f"{OLDER_TIMELINE}{uid}"
        )

    def json_or_error(self, response: Response) -> Any:
        return read_json(response)

    def parse_profile(self, response: Response) -> Iterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        # 403/418/432, or redirected to passport.weibo.cn: blocked, with the reason
        early = self.preamble(response, block_is_final=True)
        if early is not None:
            yield from early
            return
        try:
            profile = parse_profile(self.json_or_error(response))
        except SourceError as exc:
            self.crawler.stats.inc_value(f"monitor/weibo/{exc.outcome}")  # type: ignore[union-attr]
            yield self.check(response, outcome=exc.outcome, error=exc.reason)
            return
        yield self.check(response)
        yield profile_to_account(profile, target_id=tid)
        if not response.meta.get("after_timeline"):  # else the timeline was read already in this run
            yield self.timeline_request(target, profile.timeline_containerid, 1)
        v = self.validator_item(response, key=response.meta["validator_key"], target_id=tid)
        if v:
            yield v

    def parse_timeline(self, response: Response) -> Iterator[Any]:
        target, page = response.meta["target"], response.meta["page"]
        tid = target["id"]
        # 403/418/432, or redirected to passport.weibo.cn: blocked, with the reason
        early = self.preamble(response, block_is_final=True)
        if early is not None:
            yield from early
            return
        try:
            timeline = parse_timeline(self.json_or_error(response))
        except SourceError as exc:
            self.crawler.stats.inc_value(f"monitor/weibo/{exc.outcome}")  # type: ignore[union-attr]
            yield self.check(response, outcome=exc.outcome, error=exc.reason)
            return
        yield self.check(response)
        base = self.base_of(target)
        reached_known, new = False, 0
        for mblog in timeline.mblogs:
            post = mblog_to_post(mblog, target_id=tid, now=self.as_of, base=base)
            if self.is_known(tid, post.post_id):
                if post.is_pinned:
                    continue  # a pinned post heads every page 1: it says nothing about what is new
                reached_known = True
                break
            new += 1
            if mblog.get("isLongText"):
                req = self.api(
                    target,
                    self.parse_long_text,
                    kind=CheckKind.ARTICLE,
                    conditional=False,
                    errback=self.long_text_failed,
                    path="/statuses/extend",
                    id=mblog.get("mid") or mblog.get("id"),
                )
                req.meta["post"] = post
                yield req
            else:
                yield self.new_post(post)
        seen = response.meta.get("seen", 0) + sum(1 for m in timeline.mblogs if not is_pinned(m))
        more = bool(timeline.mblogs) and (timeline.since_id is not None or (timeline.total or 0) > seen)
        if not reached_known and more and page < self.max_pages:
            req = self.timeline_request(target, response.meta["containerid"], page + 1, timeline.since_id)
            req.meta["seen"] = seen
            yield req
        if page == 1:
            if new and tid not in self.profiled:
                req = self.profile_request(target)
                req.meta["after_timeline"] = True
                yield req
            elif not new:
                yield AccountSeenItem(target_id=tid)
            v = self.validator_item(response, key=response.meta["validator_key"], target_id=tid)
            if v:
                yield v

    def parse_long_text(self, response: Response) -> Iterator[Any]:
        post: PostItem = response.meta["post"]
        try:
            if response.status >= 400:
                raise SourceError(outcome_for_status(response.status), f"HTTP {response.status}")
            post.text = parse_long_text(self.json_or_error(response))
        except SourceError as exc:
            yield self.check(response, outcome=exc.outcome, error=f"long text not expanded: {exc.reason}")
        yield self.new_post(post)  # truncated text rather than no post

    def long_text_failed(self, failure: Failure) -> Iterator[Any]:
        yield from self.on_error(failure)
        yield self.new_post(failure.request.meta["post"])  # type: ignore[attr-defined]

    def secrets(self) -> tuple[str, ...]:
        return (self.cookie,)
