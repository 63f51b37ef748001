"""An account's history page (profile?__biz= / getmasssendmsg / profile_ext): its broadcasts in msgList.

Three real forms carry the same list ``{"list": [{comm_msg_info, app_msg_ext_info}, …]}``: the page's
``var msgList = {…};`` (a JS object: Sogou-era profile pages, mirrors), ``var msgList = '{&quot;list…}';``
(a JSON string written as HTML entities: profile_ext?action=home), and the JSON answer of
profile_ext?action=getmsg, where ``general_msg_list`` is that list as a JSON string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector

from core.dates import normalize_timestamp
from core.enums import CheckOutcome, PostKind
from core.items import PostItem
from core.text import clean_text
from spiders import fields
from spiders.pagestate import PageState, classify_page_state
from spiders.wechat.article import ORIGINAL_STATS, REPOST_STATS
from spiders.wechat.kinds import message_kind
from spiders.wechat.scripts import js_string, js_unescape, script_var, url_post_id, url_query

# getmsg's ret: -3 "no session" means the client key in the URL is missing or expired (our side).
HISTORY_ERRORS = {
    -3: (CheckOutcome.NO_CREDENTIALS, "history answer ret -3 (no session): the URL's WeChat key expired"),
}
_MSGLIST = re.compile(r"\bmsgList\s*=\s*")
# Shown outside the WeChat client instead of the list: a wall to us, not a state of the account.
CLIENT_ONLY = ("请在微信客户端打开链接", "请在微信中打开")


@dataclass
class HistoryEntry:
    """One broadcast item: a message, or one article of a (multi-article) broadcast."""

    msg_id: str | None
    idx: int  # the article's position in its broadcast (1 = headline)
    kind: PostKind
    published_at: str | None
    title: str | None = None
    digest: str | None = None
    url: str | None = None
    author: str | None = None
    copyright_stat: int | None = None
    source_url: str | None = None


@dataclass
class HistoryPage:
    biz: str | None
    nickname: str | None
    gh_id: str | None
    wechat_id: str | None
    entries: list[HistoryEntry] = field(default_factory=list)
    can_continue: bool = False
    next_offset: int | None = None


def _text(value: Any) -> str | None:
    """A list string: entities undone once more (titles are written &amp;quot;…), whitespace folded."""
    text = fields.as_str(value)
    if text is None:
        return None
    return clean_text(unescape(text).replace("\\n", "\n")) or None


def _url(value: Any, base: str) -> str | None:
    text = fields.as_str(value)
    if not text:
        return None
    link = unescape(js_unescape(text)).replace("\\/", "/")
    try:
        return urljoin(base, link)
    except ValueError:
        return None


def _article(
    info: dict[str, Any], *, msg_id: str | None, idx: int, kind: PostKind, at: str | None, base: str
) -> HistoryEntry:
    return HistoryEntry(
        msg_id=msg_id,
        idx=idx,
        kind=kind,
        published_at=at,
        title=_text(info.get("title")),
        digest=_text(info.get("digest")),
        url=_url(info.get("content_url"), base),
        author=_text(info.get("author")),
        copyright_stat=fields.as_int(info.get("copyright_stat")),
        source_url=_url(info.get("source_url"), base),
    )


def parse_msg_list(data: Any, base: str = "") -> list[HistoryEntry]:
    """The entries of ``{"list": [...]}``: each broadcast's headline and its further articles; a
    message that is not an article (text, picture, voice, video) as one entry."""
    entries = []
    for msg in fields.as_dicts(fields.as_dict(data).get("list")):
        comm = fields.as_dict(msg.get("comm_msg_info"))
        msg_id = fields.as_str(comm.get("id"))
        at = normalize_timestamp(fields.as_int(comm.get("datetime")))
        info = fields.as_dict(msg.get("app_msg_ext_info"))
        kind = message_kind(fields.as_int(comm.get("type")), fields.as_int(info.get("item_show_type")))
        if not info:
            text = _text(comm.get("content")) if kind == PostKind.TEXT else None
            entries.append(HistoryEntry(msg_id, 1, kind, at, digest=text))
            continue
        entries.append(_article(info, msg_id=msg_id, idx=1, kind=kind, at=at, base=base))
        for n, item in enumerate(fields.as_dicts(info.get("multi_app_msg_item_list")), start=2):
            item_kind = message_kind(49, fields.as_int(item.get("item_show_type")))
            entries.append(_article(item, msg_id=msg_id, idx=n, kind=item_kind, at=at, base=base))
    return entries


def _js_object(text: str, start: int) -> str | None:
    """The ``{…}`` that begins at ``start`` (braces inside strings skipped), or None."""
    depth, quote, i = 0, "", start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
        i += 1
    return None


def read_msg_list(html: str) -> Any:
    """The value assigned to msgList in a page's script (either form), or None."""
    for m in _MSGLIST.finditer(html):
        rest = html[m.end() : m.end() + 1]
        if rest == "{":
            raw = _js_object(html, m.end())
        elif rest and rest in "'\"":
            # The closing quote: the first one not escaped by an odd run of backslashes.
            end = re.compile(rf"(?<!\\)(?:\\\\)*{rest}").search(html, m.end() + 1)
            raw = unescape(js_string(html[m.end() + 1 : end.end() - 1 if end else len(html)]))
        else:
            continue
        try:
            return json.loads(raw or "")
        except ValueError:
            continue
    return None


def _json_answer(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def parse_history_page(text: str, url: str) -> HistoryPage | PageState:
    """The account and its broadcasts, or the state shown instead (verification, expired key…)."""
    text = text or ""
    from_url = url_query(url).get("__biz", [None])[0]
    answer = _json_answer(text) if text.lstrip().startswith("{") else None
    if isinstance(answer, dict):
        ret = fields.as_int(answer.get("ret"))
        if ret in HISTORY_ERRORS:
            outcome, reason = HISTORY_ERRORS[ret]
            return PageState(outcome, None, reason)
        raw = answer.get("general_msg_list")
        data = _json_answer(raw) if isinstance(raw, str) else raw
        if ret not in (0, None) or not isinstance(data, dict):
            return PageState(CheckOutcome.MALFORMED, None, f"history answer ret {ret}: no general_msg_list")
        return HistoryPage(
            biz=from_url,
            nickname=None,
            gh_id=None,
            wechat_id=None,
            entries=parse_msg_list(data, url),
            can_continue=fields.as_int(answer.get("can_msg_continue")) == 1,
            next_offset=fields.as_int(answer.get("next_offset")),
        )
    data = read_msg_list(text)
    sel = Selector(text=text or "<html></html>", type="html")
    if not isinstance(data, dict):
        visible = " ".join(sel.xpath("//body//text()[not(ancestor::script)]").getall())
        if any(mark in visible for mark in CLIENT_ONLY):
            return PageState(CheckOutcome.BLOCKED, None, "history page opens only in the WeChat client")
        state = classify_page_state(f"{visible}\n{' '.join(sel.css('script::text').getall())}", url)
        return state or PageState(CheckOutcome.MALFORMED, None, "no msgList in the history page")
    shown = clean_text(sel.css("p.profile_account::text").get()).replace("微信号", "").lstrip(":： ")
    pair = re.search(r"""\bvar\s+name\s*=\s*(["'])([^"']*)\1\s*\|\|""", text)
    return HistoryPage(
        biz=script_var(text, "__biz") or script_var(text, "biz") or from_url,
        nickname=script_var(text, "nickname")
        or clean_text(sel.css("strong.profile_nickname::text").get())
        or None,
        gh_id=fields.gh_id(script_var(text, "username") or script_var(text, "user_name")),
        wechat_id=fields.wechat_id(shown) or fields.wechat_id(pair[2] if pair else None),
        entries=parse_msg_list(data, url),
        can_continue=fields.as_int(script_var(text, "can_msg_continue")) == 1,
        next_offset=fields.as_int(script_var(text, "next_offset")),
    )


def entry_post_id(entry: HistoryEntry, *, biz: str | None) -> str:
    """biz_mid_idx when the entry links its article (as the other modes store it); else the message id."""
    from_url = url_post_id(entry.url) if entry.url else None
    return from_url or f"{biz or 'history'}_msg{entry.msg_id}_{entry.idx}"


def entry_to_post(entry: HistoryEntry, *, biz: str | None, target_id: int) -> PostItem:
    stat = entry.copyright_stat
    return PostItem(
        target_id=target_id,
        platform="wechat",
        post_id=entry_post_id(entry, biz=biz),
        url=entry.url,
        title=entry.title,
        text=entry.digest,
        author=entry.author,
        published_at=entry.published_at,
        kind=entry.kind,
        is_original=1 if stat in ORIGINAL_STATS else (0 if stat is not None else None),
        is_repost=1 if stat in REPOST_STATS else (0 if stat is not None else None),
        repost_source=entry.source_url if stat in REPOST_STATS and entry.source_url else None,
    )


def history_url(base: str, biz: str) -> str:
    """The history page of the account whose __biz is ``biz`` (it answers inside the WeChat client)."""
    return f"{base}/mp/profile_ext?action=home&__biz={biz}&scene=124"


def next_history_url(url: str, offset: int) -> str | None:
    """The getmsg answer after ``offset`` for a profile_ext URL (its client session kept), else None:
    other history pages (mirrors, the Sogou-era profile page) show one page only."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.path.endswith("/mp/profile_ext"):
        return None
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    query.update(action="getmsg", offset=str(offset), count="10", f="json")
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))
