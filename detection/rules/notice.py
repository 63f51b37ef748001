"""Closure-notice detector: a channel (account, site, app) stops, closes, is deregistered, merged or moved.

A claim is a closure verb (notice_words.ACTIONS) whose subject is a channel: the publisher's own (本号,
此帐号, 我局网站), a named one (“X”微信公众号, 河口县农业农村局网站, 今日头条「X」), a government group (政务
新媒体13个, 学校微信公众号) or, for the verbs only media have (停止更新), a bare quoted name. The subject
stands before the verb with nothing but time, aspect and counts between, or is its object (关停“X”微博). A
claim that is temporary, negated, demanded (要/应/须/对…的), a how-to, a description of staleness (长期
停更) or whose verb has some other object (注销营业执照, 不再发布每日疫情信息) is none. Reports of other
bodies' closures are closures too; ``Notice.is_about`` says whether one names the publishing account.
Platform status texts (此帐号已自主注销, 该公众号已迁移至新帐号) are closures with the state they state.
Traditional script and machine-converted mirrors are normalised first (core.text.to_simplified).
Sentences are read in notice_claims.py, successors in notice_targets.py, the words in notice_words.py;
here the claims become a Notice with its dates, subjects and state.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from core.clock import CHINA_TZ
from core.dates import Tense, cn_number, find_dates, resolve_year
from detection.rules import notice_words as w
from detection.rules.notice_claims import (
    MAX_TEXT,
    Claim,
    find_claims,
    find_status,
    is_self_reference,
    name_key,
    normalize_notice_text,
    normalizing_may_join,
    resolve_subject,
    sentences,
)
from detection.rules.notice_targets import MigrationTarget, extract_targets

__all__ = [
    "PREFILTER_WORDS",
    "MigrationTarget",
    "Notice",
    "classify_notice",
    "could_be_notice",
    "describe_notice",
    "has_prefilter_word",
    "name_key",
    "normalize_notice_text",
    "notice_from_json",
    "notice_to_json",
]

# Every action and status word holds one of these in simplified, traditional (Taiwan, Hong Kong) and
# machine-converted script: the classifier's first gate (could_be_notice, which detection also uses to
# skip posts before building anything) rejects a text without one at once (tests/test_notice_vocabulary.py).
PREFILTER_WORDS = tuple(
    " ".join(
        (
            "停 不再 终止 終止 关 關",  # stop, close
            "注销 註銷 注銷 登出 销号 銷號 回收 封禁 封号 封號 屏蔽 遮蔽 冻结 凍結",  # deregister, ban
            "无法查看 無法查看 無法檢視",  # a status page: 现已无法查看
            "下线 下線 下架 撤销 撤銷 撤除 退役 消失 无疾而终 無疾而終",  # go offline, withdraw
            "并入 併入 合并 合併 并转 併轉 並轉 整合 撤并 撤併 归并 歸併 划转 劃轉 划入 劃入",  # merge
            "迁 遷 转移 轉移",  # migrate
        )
    ).split()
)
_PREFILTER = re.compile(w.alternation(PREFILTER_WORDS))
# Every action (or status) word holds one of these cores, the words no shorter action word is part of
# (申请注销 holds 注销); 停止/不再 begin the split stop (停止在本平台发布信息).
_VERBS = (*w.ACTIONS, *w.STATUS_WORDS, "停止", "不再")
_CORES = tuple(a for a in _VERBS if not any(b != a and b in a for b in _VERBS))
_ACTION_CORE = re.compile(w.alternation(_CORES))
IMMEDIATE = re.compile(r"即日起|即日|今日起|今天起|即时起|即起")
AFTER_DAYS = re.compile(
    r"(?P<n>\d{1,3}|[一二三四五六七八九十]{1,3})\s*(?:天|日|个工作日)后(?:正式)?(?:关停|注销|关闭|下线)"
)
PAST_MARK = re.compile(r"(?:已|已经|业已)\s*(?:于|从|自|在)?\s*$")
FUTURE_MARK = re.compile(r"(?:将|拟|即将|计划|预计|准备|届时|将会)\s*(?:于|从|自|在)?\s*$")


@dataclass
class Notice:
    """A recognised closure and what it says."""

    action: str
    sentence: str
    # What closes, simplified; a self-reference as written (本公众号, 此帐号); [] when none is named.
    subjects: list[str]
    effective_date: date
    date_source: str  # explicit / month_day / chinese / immediate / relative / posted (none stated)
    shutdown_date: date | None = None  # "30天后关停"
    migration_targets: list[MigrationTarget] = field(default_factory=list)
    status: str | None = None  # the state a platform status text states: closed / closing / migrated
    tense: str = "past"  # future: announced without a date (本账号将注销关闭)

    def state_on(self, as_of: date) -> str:
        """closing, closed or migrated on ``as_of``."""
        if self.status:
            return self.status
        if self.effective_date > as_of or (self.date_source == "posted" and self.tense == "future"):
            return "closing"
        families = {w.FAMILY.get(m.group(0)) for m in re.finditer(w.ACTION_WORD, self.action)}
        return "migrated" if families == {"merge"} else "closed"

    def account_state(self, as_of: date) -> str:
        """The account's derived state (core.enums.DERIVED_STATUSES): a migrated account is closed."""
        return "closing" if self.state_on(as_of) == "closing" else "closed"

    def is_about(self, *names: str | None) -> bool:
        """Whether the closure is the publisher's own: a self-reference, one of its ``names``, or no name."""
        if not self.subjects:
            return True
        keys = [k for k in (name_key(n) for n in names if n) if k]
        for subject in self.subjects:
            if is_self_reference(subject):
                return True
            s = name_key(subject)
            if any(s == k or (min(len(s), len(k)) >= 4 and (s in k or k in s)) for k in keys):
                return True
        return False


# --- dates --------------------------------------------------------------------------------------------


def _tense_at(text: str, start: int, end: int) -> Tense:
    before = text[max(0, start - 6) : start]
    if PAST_MARK.search(before) or re.match(r"^\s*(?:起)?\s*已", text[end : end + 4]):
        return "past"
    if FUTURE_MARK.search(before):
        return "future"
    return "nearest"


def dates_in(text: str, posted: date) -> list[tuple[int, date, str]]:
    """(position, date, form) of every full, Chinese or month-day date and 即日起 in ``text``; a month-day
    date's year is decided by the tense written before it (已于 past, 将于 future, else nearest)."""
    ref = datetime.combine(posted, datetime.min.time(), tzinfo=CHINA_TZ)
    found: list[tuple[int, date, str]] = []
    for d in find_dates(text, ref=ref, tense="nearest"):
        if d.form not in ("explicit", "chinese", "month_day"):
            continue
        value = d.value.date()
        if d.form == "month_day":
            value = resolve_year(value.month, value.day, posted, _tense_at(text, d.start, d.end)) or value
        found.append((d.start, value, d.form))
    found += [(m.start(), posted, "immediate") for m in IMMEDIATE.finditer(text)]
    return sorted(found, key=lambda f: f[0])


def extract_effective_date(text: str, posted: date, at: int | None = None) -> tuple[date, str, date | None]:
    """(effective date, how it was found, shutdown date) from a notice sentence: the date nearest before
    position ``at`` (the verb), else the first after it; 30天后关停 gives the shutdown date."""
    found = dates_in(text, posted)
    if at is not None:
        chosen = [f for f in found if f[0] < at][-1:] or [f for f in found if f[0] >= at][:1]
    else:
        chosen = found[:1]
    after = AFTER_DAYS.search(text)
    days = cn_number(after["n"]) if after else None
    if chosen:
        _, eff, source = chosen[0]
    elif days is not None:
        eff, source = posted, "relative"
    else:
        eff, source = posted, "posted"
    try:
        shutdown = eff + timedelta(days=days) if days is not None else None
    except OverflowError:
        shutdown = None
    if source == "relative" and shutdown is not None:
        eff = shutdown
    return eff, source, shutdown


# --- the classifier ----------------------------------------------------------------------------------


def could_be_notice(title: str | None, text: str | None) -> bool:
    """The classifier's own first gates, cheap: a prefilter word in the text as written, then (in
    simplified script) a closure verb or a platform status word. A text that fails here is no notice."""
    raw = f"{title or ''}\n{text or ''}"[: MAX_TEXT * 2]
    if not has_prefilter_word(raw):
        return False
    if _ACTION_CORE.search(raw):
        return True  # the sentence analysis decides
    if not normalizing_may_join(raw):
        return False  # simplified text as written: no verb can appear
    doc = normalize_notice_text(raw)
    return w.ACTION.search(doc) is not None or any(s in doc for s in w.STATUS_WORDS)


def classify_notice(title: str | None, text: str | None, posted_at: datetime | date) -> Notice | None:
    """A closure (with its date, subjects and migration targets), or None for anything else."""
    if not could_be_notice(title, text):
        return None
    posted = posted_at.date() if isinstance(posted_at, datetime) else posted_at
    head = normalize_notice_text(title or "")
    body = normalize_notice_text(text or "")
    doc = f"{head}。{body}" if head else body
    claims: list[Claim] = []
    foreign = False
    doc_gov = w.GOV_CONTEXT.search(doc) is not None or w.GOV_NAME.search(head) is not None
    status: tuple[str, str, str, str] | None = None
    for offset, sentence in sentences(doc):
        if not w.ACTION.search(sentence) and not any(s in sentence for s in w.STATUS_WORDS):
            continue
        if status is None and (st := find_status(sentence)) is not None:
            status = (*st, sentence)
        found, odd = find_claims(sentence, offset, doc_gov=doc_gov)
        claims += found
        foreign = foreign or odd
        if len(claims) >= 20:
            break
    if foreign:
        claims = [c for c in claims if c.subject is not None]
    # A platform's status text is the whole page; inside a longer notice the notice's own claims decide.
    if status is not None and (not claims or len(doc) <= 120):
        state, subject, wording, sentence = status
        return Notice(
            action=wording,
            sentence=sentence[:200],
            subjects=[subject],
            effective_date=posted,
            date_source="posted",
            migration_targets=extract_targets(doc),
            status=state,
        )
    if not claims:
        return None
    subjects: list[str] = []
    groups: set[str] = set()  # names of unnamed groups (部分政务新媒体账号, 账号)
    for claim in claims:
        named = claim.subject is not None and claim.subject.kind != "generic"
        for name in resolve_subject(claim, doc, subjects):
            if name not in subjects:
                subjects.append(name)
            if not named and name in claim.names:
                groups.add(name)
    if any(s not in groups for s in subjects):
        subjects = [s for s in subjects if s not in groups]  # the group is the channels it names
    primary = claims[0]
    eff, source, shutdown = posted, "posted", None
    for claim in claims:
        eff, source, shutdown = extract_effective_date(claim.sentence, posted, claim.action_start)
        if source != "posted":
            primary = claim
            break
    if source == "posted":
        eff, source, shutdown = _date_elsewhere(doc, posted)
    return Notice(
        action=primary.action,
        sentence=primary.sentence.strip()[:200],
        subjects=subjects,
        effective_date=eff,
        date_source=source,
        shutdown_date=shutdown,
        migration_targets=extract_targets(
            doc, exclude=tuple(s for s in subjects if not is_self_reference(s))
        ),
        status=None,
        tense="future" if source == "posted" and primary.future else "past",
    )


def _date_elsewhere(doc: str, posted: date) -> tuple[date, str, date | None]:
    """A from-date (…起, …开始) anywhere in the text, or 30天后关停, when no claim sentence has a date."""
    for start, value, form in dates_in(doc, posted):
        if form != "immediate" and re.match(r"^[^，。,；;]{0,12}?(?:起|开始)", doc[start : start + 30]):
            return value, form, None
    return extract_effective_date(doc, posted) if AFTER_DAYS.search(doc) else (posted, "posted", None)


def has_prefilter_word(text: str) -> bool:
    return _PREFILTER.search(text) is not None


# --- what the command prints and the database stores --------------------------------------------------


def describe_notice(n: Notice | None, *, as_of: date) -> dict[str, Any]:
    """The `scrapy notice` answer for one text."""
    if n is None:
        return {
            "closure": False,
            "effective_date": None,
            "migration_targets": [],
            "subjects": [],
            "action": None,
            "status": None,
        }
    return {
        "closure": True,
        "effective_date": n.effective_date.isoformat() if n.date_source != "posted" else None,
        "migration_targets": [{"name": t.name, "url": t.url, "kind": t.kind} for t in n.migration_targets],
        "subjects": n.subjects,
        "action": n.action,
        "status": n.state_on(as_of),
    }


def notice_to_json(n: Notice) -> str:
    data = asdict(n)
    data["effective_date"] = n.effective_date.isoformat()
    data["shutdown_date"] = n.shutdown_date.isoformat() if n.shutdown_date else None
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def notice_from_json(data: str | dict[str, Any]) -> Notice:
    """A stored notice; reads the earlier shape too (``subject: str | None``, ``targets``)."""
    d = json.loads(data) if isinstance(data, str) else dict(data)
    subject = d.pop("subject", None)
    targets = d.pop("targets", None)
    d.setdefault("subjects", [subject] if subject else [])
    d.setdefault("migration_targets", targets or [])
    d["effective_date"] = date.fromisoformat(d["effective_date"])
    d["shutdown_date"] = date.fromisoformat(d["shutdown_date"]) if d.get("shutdown_date") else None
    d["migration_targets"] = [MigrationTarget(**t) for t in d["migration_targets"] or []]
    known = set(Notice.__dataclass_fields__)
    return Notice(**{k: v for k, v in d.items() if k in known})
