"""Reading a closure notice's sentences: the channels they mention and the claims their verbs make.

``find_mentions`` finds every channel a sentence names (本号, “X”微信公众号, 河口县农业农村局网站,
政务新媒体13个) and ``find_claims`` every closure verb whose subject is one of them, with the checks that
rule a claim out (temporary, negated, demanded, a how-to, staleness, another object, no government in
sight). The text is first normalised (``normalize_notice_text``); ``detection.rules.notice`` builds the
Notice from the claims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from core.clock import CHINA_TZ
from core.dates import find_dates
from core.text import UNPLAIN_CHARS, has_traditional, is_plain_simplified, to_simplified
from detection.rules import notice_words as w

MAX_TEXT = 20000
# A run with no sentence end is read in pieces: a claim is local, and clauses are judged one by one.
SENTENCE = re.compile(r"[^。！？!?；;\n…]{1,300}")
CLAUSE_BREAK = re.compile(r"[，,：:]")
FUTURE = re.compile(r"将|拟|即将|计划|预计|准备|正在|届时")
QUOTE = re.compile(r"“(?P<q>[^“”]{1,40})”")
BOOK = re.compile(r"《[^《》]{0,80}》")
ORG = re.compile(
    r"(?:^|[，,。；;：:\s])(?P<org>[\u4e00-\u9fff]{2,20}?(?:人民政府|政府|委员会|事务中心|中心|局|厅|署|委|办公室|院|馆))"
)
_SENDING = re.compile(rf".*(?:请|{w.alternation(w.SEND + w.MOVE)})")
# A mention right after a successor verb names where readers or content go, not what closes.
_SENT_TO = re.compile(rf"(?:{w.alternation(w.SEND + w.MOVE)})\s*(?:至|到)?\s*$")
ORG_SUBJECT = re.compile(
    r"(?:^|(?<=[，,：:\s]))(?P<org>[\u4e00-\u9fff]{2,24}?(?:人民政府|政府|委员会|局|厅|署|委|办公室|事务中心|融媒体中心|中心))"
)
# A Weibo handle outside quotes is a name all the same: 新浪微博账号@临江政务发布宣布停更.
_AT_NAME = re.compile(
    r"(?<![A-Za-z0-9_“@.])@(?P<name>[\u4e00-\u9fffA-Za-z0-9_\-·]{2,30}?)"
    r"(?=宣布|发布消息|发布公告|发文|称|表示|在|的|于|已|将|[\s，,。：:；;]|$)"
)
# Before a 本/我 channel, a third party speaking or a plural agent: the channel is not the publisher's.
_REPORTED = re.compile(
    r"[，,]\s*称|发布[^，。]{0,12}称|表示|据[^，。]{0,20}(?:报道|消息|了解)|记者|许多|不少|多地|各地|一些单位|"
    r"一批|大批|多家|多所|各单位|各部门|等单位|等部门"
)
# Control characters and zero-width marks scraped pages carry between words.
_INVISIBLE_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2060\ufeff"
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
# One look for every character besides script around which normalising could join two others: most
# texts hold none (then only a traditional form could), 1.35 -> 0.83 us a text the gate lets through.
_MAY_JOIN = re.compile(f"[{_INVISIBLE_CHARS}{UNPLAIN_CHARS}]")
_OPEN_QUOTES = "「『﹁﹃〝‘"
_CLOSE_QUOTES = "」』﹂﹄〞’"
_UNQUOTE_ACTION = re.compile(rf"“(?P<a>(?:{w.ACTION_WORD})+)”")
_SELF_BEFORE = re.compile(
    r"(?:本|此|我)(?:单位|机关|局|委|办|部门|中心|院|馆|所|队|站|处|厅|署|镇|乡|街道|区|县|市)?"
    r"(?:的|开办的|开设的|所属的)?$"
)
_ANAPHOR_BEFORE = re.compile(
    r"(?:该|其|原|上述|以上|相关|有关|这个|这些|这)(?:开设|开办|所属|运营|主办)?(?:的)?$"
)
_SELF_WORD = re.compile(r"本号|本站(?!讯)")
_COUNT_BETWEEN = re.compile(r"^\s*(?:等)?\s*(?:\d+|[一二三四五六七八九十两百]+)?\s*[个家所]?\s*$")
_OBJECT_LEAD = re.compile(
    r"^(?:了|掉|的|该|其|这|此|这些|共|全部|所有|各自|各类|各|部分|一批|一些|多个|若干|相关|等)*\s*"
    r"(?:\d+|[一二三四五六七八九十两百千]+)?\s*(?:个|家|所)?\s*"
)


def is_self_reference(subject: str) -> bool:
    """本号, 此帐号, 我局网站, and 该公众号 when nothing before it says whose."""
    return re.match(r"^(?:本|此|我|该)", subject) is not None


def name_key(name: str) -> str:
    """A name compared without quotes, script, the channel word it ends with or a leading 原."""
    key = re.sub(r"[“”\"'「」『』‘’\s@]", "", to_simplified(name))
    key = whole = re.sub(r"^原", "", key)
    previous = None
    while previous != key:
        previous = key
        key = re.sub(rf"(?:{w.CHANNEL}|网|系统)$", "", key)
    return key or whole


# --- normalising --------------------------------------------------------------------------------------


def normalizing_may_join(text: str) -> bool:
    """Whether normalize_notice_text could make a word appear that ``text`` does not hold as written
    (script conversion, invisible characters, inline pinyin, spaces between characters); quotes and
    whitespace runs it rewrites never join two characters."""
    if _MAY_JOIN.search(text) is None:
        return has_traditional(text)
    return _INVISIBLE.search(text) is not None or not is_plain_simplified(text)


_QUOTES_TABLE = str.maketrans(_OPEN_QUOTES + _CLOSE_QUOTES, "“" * 6 + "”" * 6)


def normalize_notice_text(text: str) -> str:
    """Simplified script, every quote pair as “”, quoted verbs unquoted (选择“关张”), whitespace folded."""
    text = to_simplified(_INVISIBLE.sub("", text[:MAX_TEXT]))
    text = text.translate(_QUOTES_TABLE)
    if '"' in text or "＂" in text:
        parts = re.split(r"[\"＂]", text)
        text = "".join(p + ("“" if i % 2 == 0 else "”") for i, p in enumerate(parts[:-1])) + parts[-1]
    text = text.replace("“@", "“")
    text = _AT_NAME.sub(lambda m: f"“{m['name']}”", text)
    text = _UNQUOTE_ACTION.sub(lambda m: m["a"], text)
    return re.sub(r"[ \t\r\f\v\xa0\u3000]+", " ", text).strip()


# --- mentions of channels -----------------------------------------------------------------------------


@dataclass
class Mention:
    start: int
    end: int
    kind: str  # self / anaphor / named / generic / quoted
    names: list[str]
    gov: bool = False  # the mention itself reads as a government channel
    quoted: bool = False  # the names come from quotes
    bare: bool = False  # a channel word alone (账号, 网站): refers to the channel named before it
    reported: bool = False  # 本账号 in a third party's words: the speaker's, not the publisher's


def _split_names(quoted: str) -> list[str]:
    return [n.strip() for n in re.split(r"[、，,]", quoted) if n.strip()]


def _np_before(sentence: str, start: int) -> str:
    """The noun phrase just before ``start``, cut at the last verb, preposition, closing quote or
    punctuation."""
    head = sentence[max(0, start - 30) : start]
    if head.endswith("”"):
        return ""
    cut = max(
        (m.end() for m in re.finditer(rf"(?:{w.ACTION_WORD})|[“”]", head)),
        default=0,
    )
    head = head[cut:]
    ends = [m.end() for m in (w.BOUNDARY.match(head), _SENDING.match(head)) if m is not None]
    return head[max(ends) :] if ends else head


def _masked(sentence: str) -> list[tuple[int, int]]:
    return [m.span() for m in BOOK.finditer(sentence)]


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a < pos < b for a, b in spans)


def _channel_mention(sentence: str, c: re.Match[str]) -> Mention:
    before = sentence[: c.start()]
    if (prefix := _SELF_BEFORE.search(before[-12:])) is not None:
        start = c.start() - len(prefix.group(0))
        return Mention(start, c.end(), "self", [sentence[start : c.end()]], True)
    if (a := _ANAPHOR_BEFORE.search(before[-8:])) is not None:
        start = c.start() - len(a.group(0))
        return Mention(start, c.end(), "anaphor", [sentence[start : c.end()]], True)
    raw = _np_before(sentence, c.start()).strip()
    np = re.sub(r"^(?:的|原|各自|各类|各|全部|所有|部分|剩下的|剩余的)+", "", raw)
    if np and w.GOV_NAME.search(np) and not w.NOT_GOVERNMENT.search(np):
        return Mention(c.start() - len(np), c.end(), "named", [np + c.group(0)], True)
    gov = bool(w.GOV_CONTEXT.search(np + c.group(0))) or c.group(0).startswith(("政务", "官方"))
    name = re.sub(r"^(?:的|原)+", "", raw) + c.group(0)
    # 部分政务新媒体账号 is some of them; only a channel word with nothing before it refers back
    return Mention(c.start() - len(np), c.end(), "generic", [name], gov, bare=not raw)


def find_mentions(sentence: str) -> list[Mention]:
    """Every channel the sentence names, in order; adjacent pieces (“X”微信公众号) are one mention."""
    books = _masked(sentence)
    quotes = [q for q in QUOTE.finditer(sentence) if not _inside(q.start(), books)]
    quoted = [(q.start(), q.end()) for q in quotes]
    out = [
        _channel_mention(sentence, c)
        for c in re.finditer(w.CHANNEL, sentence)
        if not _inside(c.start(), books) and not _inside(c.start(), quoted)
    ]
    for q in quotes:
        name = q["q"].strip()
        after = sentence[q.end() : q.end() + 8]
        kind = "named" if w.ENDS_AS_CHANNEL.search(name) else "quoted"
        end = q.end()
        if not re.match(rf"\s*(?:{w.CHANNEL})", after) and (
            suffix := re.match(rf"\s*(?:{w.NAME_CHANNEL})", after)
        ):
            kind, end = "named", q.end() + suffix.end()
        gov = w.GOV_NAME.search(name) is not None
        out.append(Mention(q.start(), end, kind, _split_names(name), gov, quoted=True))
    for s in _SELF_WORD.finditer(sentence):
        if not _inside(s.start(), quoted):
            out.append(Mention(s.start(), s.end(), "self", [s.group(0)], True))
    return _merge(sorted(out, key=lambda m: (m.start, -m.end)), sentence)


_STRENGTH = {"named": 4, "self": 3, "anaphor": 2, "quoted": 1, "generic": 0}


def _join(last: Mention, m: Mention) -> Mention:
    """One mention from two adjacent ones: quoted names win over the channel word beside them."""
    if last.quoted and m.quoted:
        names, kind = last.names + m.names, "quoted" if last.kind == m.kind == "quoted" else "named"
    elif last.quoted or m.quoted:
        quoted = last if last.quoted else m
        other = m if last.quoted else last
        names = quoted.names
        kind = other.kind if other.kind in ("self", "anaphor") else "named"
    elif _STRENGTH[m.kind] > _STRENGTH[last.kind]:
        names, kind = m.names, m.kind
    else:
        names, kind = last.names, last.kind
    return Mention(
        last.start, max(last.end, m.end), kind, names, last.gov or m.gov, last.quoted or m.quoted, False
    )


def _merge(mentions: list[Mention], sentence: str) -> list[Mention]:
    """Join a channel word and the quoted name beside it, a quoted list and its 等N个公众号, overlaps."""
    merged: list[Mention] = []
    for m in mentions:
        if merged:
            last = merged[-1]
            if m.start < last.end and m.end <= last.end:
                continue  # contained: the longer mention already holds it
            if m.start < last.end or _COUNT_BETWEEN.match(sentence[last.end : m.start]):
                merged[-1] = _join(last, m)
                continue
        merged.append(m)
    return merged


# --- claims -------------------------------------------------------------------------------------------


@dataclass
class Claim:
    sentence: str
    offset: int  # where the sentence starts in the normalised text
    action: str
    action_start: int  # within the sentence
    subject: Mention | None
    names: list[str]
    family: str
    future: bool


def _filler_only(text: str) -> bool:
    text = w.REASON.sub("", _strip_dates(text))
    return w.FILLER_RE.fullmatch(text.strip()) is not None


def _strip_dates(text: str) -> str:
    ref = datetime(2000, 1, 1, tzinfo=CHINA_TZ)
    for d in reversed(find_dates(text, ref=ref, tense="nearest")):
        text = text[: d.start] + text[d.end :]
    return re.sub(
        r"\d{4}\s*年(?:\s*\d{1,2}\s*月)?(?:份|底|初)?|\d{1,2}\s*月(?:份|底|初|中旬|下旬|上旬)?", "", text
    )


def _clause_bounds(sentence: str, start: int, end: int) -> tuple[int, int]:
    left = max((m.end() for m in CLAUSE_BREAK.finditer(sentence, 0, start)), default=0)
    right = next((m.start() for m in CLAUSE_BREAK.finditer(sentence, end)), len(sentence))
    return left, right


def _verbs(action: str) -> list[str]:
    """The vocabulary verbs of a chained action; 停止在本平台发布信息 is 停止发布."""
    split = re.match(w.SPLIT_STOP, action)
    verbs = ["停止发布"] if split else []
    return verbs + [m.group(0) for m in re.finditer(w.ACTION_WORD, action[split.end() if split else 0 :])]


def _family(action: str) -> tuple[str, bool]:
    """The family of a chained action (the first verb's, a close/stop verb outranking a merge) and
    whether it is weak (describes a channel gone rather than announcing it)."""
    verbs = _verbs(action)
    families = [w.FAMILY[v] for v in verbs]
    family = next((f for f in families if f != "merge"), "merge")
    return family, all(v in w.WEAK for v in verbs)


def _object(sentence: str, end: int, clause_end: int, mentions: list[Mention]) -> Mention | str | None:
    """What follows the verb: a channel mention (its object), "foreign" (some other object), or None."""
    rest = sentence[end:clause_end]
    lead = _OBJECT_LEAD.match(rest)
    at = end + (lead.end() if lead else 0)
    for m in mentions:
        between = sentence[at : m.start]
        # 关停注销政府部门及镇级政务微信公众号: modifiers may stand before the channel word
        modifiers = m.start <= at + 16 and re.fullmatch(r"[\u4e00-\u9fff]{1,14}(?:及|和|与|、|的)", between)
        if end <= m.start <= at or (m.start > at and m.end <= clause_end and modifiers):
            tail = sentence[m.end : clause_end]
            if m.kind == "quoted" and re.match(
                r"^\s*等\s*(?:\d+|[一二三四五六七八九十两]+)?\s*[个家所类项]", tail
            ):
                return "foreign"  # “X”等3家社会组织: the head noun is not a channel
            if not w.OBJECT_END.match(tail):
                return "foreign"  # 注销政务新媒体账号管理员权限: the channel only qualifies the object
            return m
    if w.CONTINUES.match(rest) or w.DURATION.match(rest):
        return None
    return "foreign"


def _subject_ok(m: Mention | None, action: str, sentence: str, rest: str, *, doc_gov: bool) -> bool:
    """Whether the subject makes the claim a government channel's closure. ``doc_gov``: the text speaks
    of government somewhere (政务, 政府, a bureau…), so a brand-like name (“云川通”) is one's."""
    family, weak = _family(action)
    notice_ref = w.NOTICE_NOUN.match(rest) is not None
    if m is None:
        return not weak and family != "merge"
    name = "".join(m.names)
    if w.NOT_GOVERNMENT.search(sentence) or (
        m.kind in ("named", "quoted") and w.NOT_CHANNEL_BODY.search(name)
    ):
        return False
    if m.kind in ("self", "anaphor"):
        return True
    if m.kind == "named":
        return m.gov or doc_gov
    if weak:
        return False
    if m.kind == "generic":
        return m.gov or w.GOV_CONTEXT.search(sentence) is not None or notice_ref
    media_stop = any(v in w.MEDIA_STOP for v in _verbs(action))
    return m.gov or ((media_stop or notice_ref) and doc_gov)


def _left_subject(
    sentence: str, clause_start: int, act_start: int, mentions: list[Mention], *, media: bool
) -> Mention | str | None:
    """The channel before the verb: in its clause with only filler between, else the topic of an earlier
    clause when the verb's clause holds nothing else; "foreign" when something else is the subject. A
    body (青山区统计局) may be the subject of a verb only media have (停止发布信息)."""
    before = [m for m in mentions if clause_start <= m.start and m.end <= act_start]
    if before:
        m = before[-1]
        return m if _filler_only(sentence[m.end : act_start]) else "foreign"
    if not _filler_only(sentence[clause_start:act_start]):
        org = ORG_SUBJECT.search(sentence[clause_start:act_start])
        if org is not None and media and _filler_only(sentence[clause_start + org.end() : act_start]):
            return Mention(
                clause_start + org.start("org"), clause_start + org.end(), "named", [org["org"]], True
            )
        return "foreign"
    earlier = [m for m in mentions if m.end <= clause_start]
    for kinds in (("self", "named", "anaphor"), ("generic",), ("quoted",)):
        nearest = [m for m in earlier if m.kind in kinds][-1:]
        if nearest:
            return nearest[0]
    return None


def _is_class(sentence: str, m: Mention) -> bool:
    start = max((b.end() for b in CLAUSE_BREAK.finditer(sentence, 0, m.start)), default=0)
    return re.match(r"^\s*对[^，,]*的", sentence[start : m.end]) is not None


def find_claims(sentence: str, offset: int, *, doc_gov: bool = True) -> tuple[list[Claim], bool]:
    """The claims of one sentence, and whether some verb in it had another subject or object than a
    channel (then a claim without a subject elsewhere in the text is not the publisher's)."""
    if w.HOW_TO.search(sentence):
        return [], False
    mentions = find_mentions(sentence)
    foreign = False
    books = _masked(sentence)
    quoted = [q.span() for q in QUOTE.finditer(sentence)]
    claims: list[Claim] = []
    for act in w.ACTION.finditer(sentence):
        if _inside(act.start(), books) or _inside(act.start(), quoted):
            continue
        start, end = act.span()
        c_start, c_end = _clause_bounds(sentence, start, end)
        clause = sentence[c_start:c_end]
        left = sentence[c_start:start]
        rest = sentence[end:c_end]
        if (
            w.TEMPORARY.search(clause)
            or w.INTERRUPTION.search(sentence)
            or w.NEGATED.search(left)
            or w.STALE.search(left)
            or w.MODAL.search(left)
            or w.APP_STORE.search(left)
        ):
            continue
        family = _family(act.group(0))[0]
        subject: Mention | str | None = None
        if family != "merge":
            subject = _object(sentence, end, c_end, mentions)
            first = re.match(rf"{w.SPLIT_STOP}|{w.ACTION_WORD}", act.group(0))
            if subject == "foreign" and first is not None and first.end() < end - start:
                # 永久下线并注销域名: the object belongs to the last verb; the first one stands alone.
                end = start + first.end()
                rest = sentence[end:c_end]
                subject = _object(sentence, end, c_end, mentions)
            if subject == "foreign":
                foreign = True
                continue
            if subject is None and family == "stop" and w.DURATION.match(rest):
                continue
        elif w.COLUMN.search(rest[:16]) or not (
            re.match(r"^\s*(?:至|到|为|入|进|$|[，,])", rest)
            or re.search(r"(?:至|到|入|进|为)$", act.group(0))
            or w.CONTINUES.match(rest)
        ):
            continue
        if subject is None:
            media = any(v in w.MEDIA_STOP for v in _verbs(sentence[start:end]))
            subject = _left_subject(sentence, c_start, start, mentions, media=media)
            if subject == "foreign":
                foreign = True
                continue
        assert not isinstance(subject, str)
        if not _subject_ok(subject, sentence[start:end], sentence, rest, doc_gov=doc_gov):
            continue
        if subject is not None and subject.kind == "generic" and _is_class(sentence, subject):
            continue  # 对长期不更新的部门网站予以关停: a rule for a kind of channel, not a closure
        if subject is not None and subject.kind == "self" and _REPORTED.search(sentence[: subject.start]):
            # 许多单位都申请注销本单位的政务新媒体账号: each unit's own, not the publisher's
            channel = re.search(rf"(?:{w.CHANNEL})$", subject.names[0])
            subject = replace(
                subject, kind="anaphor", names=[channel.group(0) if channel else "账号"], reported=True
            )
        names = _listed(sentence, subject, mentions) if subject is not None else []
        action = sentence[start:end]
        if len(claims) >= 8:
            break
        claims.append(
            Claim(sentence, offset, action, start, subject, names, family, FUTURE.search(left) is not None)
        )
    return claims, foreign


_LIST_GAP = re.compile(r"^\s*[、和及与]\s*(?:[\u4e00-\u9fff]{0,6}(?:省|市|区|县|州))?\s*$")


def _listed(sentence: str, subject: Mention, mentions: list[Mention]) -> list[str]:
    """The subject's names with those of the mentions listed before it (“A”、河南省“B”网)."""
    names = list(subject.names)
    at = mentions.index(subject) if subject in mentions else -1
    while at > 0:
        prev = mentions[at - 1]
        if prev.kind == "generic" or not _LIST_GAP.match(sentence[prev.end : mentions[at].start]):
            break
        names = prev.names + names
        at -= 1
    return names


def find_status(sentence: str) -> tuple[str, str, str] | None:
    """(state, subject, wording) of a platform status text at the start of a clause, or None."""
    if w.STATUS_NOT.search(sentence):
        return None
    for part in [sentence, *re.split(r"[，,：:]", sentence)]:
        part = part.strip()
        for pattern, state in w.STATUS:
            if (m := pattern.match(part)) is not None:
                subject = re.match(r"(?:此|该|本)?(?:帐号|账号|公众号|微信号|用户|微博账号|微博帐号)", part)
                said = subject.group(0) if subject else "帐号"
                # the page shown in place of an account speaks of that account: 帐号已被系统回收 = 此帐号
                return state, said if is_self_reference(said) else f"此{said}", m.group(0)
    return None


def sentences(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(0)) for m in SENTENCE.finditer(text) if m.group(0).strip()]


def resolve_subject(claim: Claim, text: str, earlier: list[str]) -> list[str]:
    """The names a claim's subject stands for: 该/其/原 + channel, or a channel word alone (账号将注销),
    is the channel or body named before it."""
    m = claim.subject
    if m is None:
        return []
    anaphor = m.kind == "anaphor" and not m.names[0].startswith("相关")
    if not anaphor and not m.bare:
        return claim.names
    if anaphor and m.names[0].startswith("原") and earlier:
        return []  # 原账号: the one whose closure was already claimed
    upto = claim.offset + m.start
    head = text[max(0, upto - (300 if anaphor else 120)) : upto]
    candidates: list[tuple[int, list[str]]] = []
    for offset, sentence in sentences(head):
        for mm in find_mentions(sentence):
            successor = _SENT_TO.search(sentence[: mm.start]) is not None
            title_like = re.search(rf"{w.ACTION_WORD}|说明|公告|通知", "".join(mm.names)) is not None
            if successor or title_like:
                continue
            if mm.kind == "named" or (mm.kind == "quoted" and (mm.gov or m.reported)):
                candidates.append((offset + mm.end, mm.names))
    for o in ORG.finditer(head):
        cut = w.BOUNDARY.match(o["org"])
        org = o["org"][cut.end() :] if cut else o["org"]
        if len(org) >= 3 and not re.match(r"[你我贵本该此其]", org):
            candidates.append((o.end(), [org]))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1]
    return [] if earlier else claim.names
