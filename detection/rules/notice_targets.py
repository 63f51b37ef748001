"""Successors named in a closure notice: every account, portal or app readers are sent to or content
moves to (请关注“X”、“Y”, 并入X门户网站（URL）, 迁移至X, 将在“X”视频号发布), each with its kind and URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from detection.rules.notice_words import CHANNEL, GOV_NAME, MOVE, SEND, alternation


@dataclass(frozen=True)
class MigrationTarget:
    kind: str  # account / portal / app
    name: str
    url: str | None = None


_KIND_WORD = rf"(?:相关账号|相关帐号|{CHANNEL}|网)"
_URL = r"https?://[\w.\-/:%?=&#~+]+[\w/]"
_QUOTED_ITEM = re.compile(rf"“(?P<q>[^“”]{{1,40}})”\s*(?P<kind>{_KIND_WORD})?")
_KIND_THEN_QUOTED = re.compile(rf"[\u4e00-\u9fff]{{0,4}}?(?P<kind>{_KIND_WORD})\s*“(?P<q>[^“”]{{1,40}})”")
_URL_ITEM = re.compile(rf"(?P<url>{_URL})")
# An unquoted name ends with the kind of channel it is: 临江市人民政府门户网站, 河口发布APP.
_SUFFIXED_ITEM = re.compile(
    r"(?P<name>[\u4e00-\u9fffA-Za-z0-9]{1,30}?"
    r"(?:门户网站|网站|官网|APP|App|app|客户端|小程序|政务服务平台|平台|(?<!统一|负责|继续|及时|集中)发布|"
    r"微信公众号|公众号|官方微博|微博|"
    r"抖音号|视频号|头条号))(?![\u4e00-\u9fffA-Za-z])"
)
# Content moved into a body: the body is the successor even without a channel word (并入龙岗区财政局).
_BODY_ITEM = re.compile(
    r"(?P<name>(?!的)[\u4e00-\u9fff]{2,24}?)(?=当中|中[，,。；;]|之中|[，,。；;、）)\s]|$|查询|查看|获取|发布|统一)"
)
# A body's name reads as one by its ending: 云川市教育局, 临江市人民政府.
_ORG_END = re.compile(r"[\u4e00-\u9fff]{2,}(?:人民政府|政府|委员会|局|厅|署|办公室|中心|委|办)$")
_URL_AFTER = re.compile(rf"^\s*[（(]?\s*(?:网址|地址)?[:：]?\s*(?P<url>{_URL})\s*[）)]?")
_SEPARATOR = re.compile(r"^\s*(?:、|和|及|与|或|以及|或者|，|,)\s*")
_LEAD = re.compile(r"^\s*(?:至|到)?\s*(?:我们的|我们|其|新的)?\s*")
_SEND_VERB = re.compile(rf"(?:{alternation(SEND)})")
_MOVE_VERB = re.compile(rf"(?:{alternation(MOVE)})")
# Where a successor is named as the place new content will appear: 将在“X”视频号发布.
_PUBLISH_AT = re.compile(r"(?:将在|今后在|改在|统一在|在|由|通过)(?=\s*\S)")
_PUBLISH_VERB = re.compile(
    r"^\s*(?:上|中)?\s*(?:统一|负责|继续|及时|集中)?\s*(?:发布|公开|推送|更新|承担|负责|提供|办理|获取|查询|取代|替代|代替)"
)
GENERIC_NAMES = frozenset(
    {
        "新帐号",
        "新账号",
        "新平台",
        "新网站",
        "新版网站",
        "相关账号",
        "相关帐号",
        "账号",
        "帐号",
        "网站",
        "平台",
    }
)


def _kind(name: str, kind_word: str | None, url: str | None) -> str:
    word = kind_word or ""
    if re.search(r"APP|App|app|客户端|小程序|应用|平台", word) or (
        not word and re.search(r"(?:APP|App|app|客户端|小程序|应用|平台)$", name)
    ):
        return "app"
    if re.search(r"网站|官网|网$", word) or (not word and re.search(r"(?:网站|官网|网)$", name)) or url:
        return "portal"
    return "account"


def _body(rest: str, *, moved: bool) -> re.Match[str] | None:
    """A body named without a channel word: any government name content moves into, an office's name
    (…局, …人民政府) where readers are sent."""
    m = _BODY_ITEM.match(rest)
    if m is None or not ((moved and GOV_NAME.search(m["name"])) or _ORG_END.search(m["name"])):
        return None
    return m


def _item(text: str, pos: int, *, moved: bool) -> tuple[MigrationTarget, int] | None:
    rest = text[pos:]
    lead = _LEAD.match(rest)
    offset = pos + (lead.end() if lead else 0)
    rest = text[offset:]
    m = _QUOTED_ITEM.match(rest) or _KIND_THEN_QUOTED.match(rest)
    name: str | None = None
    kind_word: str | None = None
    url: str | None = None
    if m is not None:
        name, kind_word = m["q"].strip(), m["kind"]
    elif (m := _URL_ITEM.match(rest)) is not None:
        name = url = m["url"]
    elif (m := _SUFFIXED_ITEM.match(rest) or _body(rest, moved=moved)) is not None:
        name = m["name"]
    if m is None or not name:
        return None
    end = offset + m.end()
    if url is None and (u := _URL_AFTER.match(text[end : end + 80])) is not None:
        url = u["url"]
        end += u.end()
    return MigrationTarget(_kind(name, kind_word, url), name, url), end


def _items_after(text: str, pos: int, *, moved: bool) -> list[MigrationTarget]:
    """The list of successors after a verb: “X”、“Y”和Z网站; past a comma only a quoted name or a URL."""
    found: list[MigrationTarget] = []
    loose = moved
    while len(found) < 12:
        item = _item(text, pos, moved=loose)
        if item is None:
            break
        target, pos = item
        found.append(target)
        sep = _SEPARATOR.match(text[pos:])
        if sep is None:
            break
        if sep.group(0).strip() in ("，", ","):
            if not re.match(rf"\s*(?:“|{_URL})", text[pos + sep.end() :]):
                break
            loose = False
        pos += sep.end()
    return found


def extract_targets(text: str, *, exclude: tuple[str, ...] = ()) -> list[MigrationTarget]:
    """Every successor ``text`` (normalised, quotes as “”) names, in order, without the closing ones."""
    targets: list[MigrationTarget] = []
    for verb in _MOVE_VERB.finditer(text):
        targets += _items_after(text, verb.end(), moved=True)
    for verb in _SEND_VERB.finditer(text):
        targets += _items_after(text, verb.end(), moved=False)
    for at in _PUBLISH_AT.finditer(text):
        for t in _items_after(text, at.end(), moved=False)[:1]:
            tail = text[at.end() :]
            name_at = tail.find(t.name)
            after = tail[name_at + len(t.name) :] if name_at >= 0 else ""
            after = re.sub(rf"^[”\s]*(?:{_KIND_WORD})?", "", after)
            if _PUBLISH_VERB.match(after):
                targets.append(t)
    excluded = {_key(e) for e in exclude}
    unique: list[MigrationTarget] = []
    seen: set[tuple[str, str]] = set()
    for t in sorted(targets, key=lambda t: text.find(t.name)):
        key = _key(t.name)
        if (t.kind, key) in seen or key in excluded or t.name in GENERIC_NAMES or len(key) < 2:
            continue
        seen.add((t.kind, key))
        unique.append(t)
    return unique


def _key(name: str) -> str:
    return re.sub(r"[“”\s]", "", name)
