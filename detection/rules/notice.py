"""Closure-notice detector: 停更/关停/注销/并入 notices about the account or site itself, never 注销营业执照.

Precision first: a notice needs the publisher's own channel ("本账号", "“X”微信公众号", "本网站",
"政务新媒体") and a stop/close action close together in one sentence, with none of the words of
ordinary service posts (营业执照, 户口, 道路, 停水…) between them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from core.clock import CHINA_TZ
from core.dates import cn_number, find_dates

_MEDIA = (
    r"(?:微信公众号|公众号|微信号|订阅号|服务号|官方微信|政务微信|官方微博|政务微博|微博号|微博|抖音号|快手号|"
    r"头条号|视频号|百家号|客户端|APP|App|app|政务新媒体账号|新媒体账号|政务新媒体|账号|门户网站|网站)"
)
# The publisher's own channel: "本…", a quoted name followed by a channel word, or a named government site.
SELF = re.compile(
    r"(?:本(?:微信)?(?:公众号|账号|帐号|号|微博|平台|网站|站|订阅号|服务号|头条号|抖音号|客户端|政务新媒体)"
    r"|[“\"「『][^”\"」』]{2,24}[”\"」』]\s*(?:微信)?" + _MEDIA + r"?"
    r"|[\u4e00-\u9fa5]{2,20}(?:人民政府|政府|局|委员会|办公室|中心)(?:门户)?网站"
    r"|该(?:公众号|账号|帐号|微博|网站))"
)
ACTION = re.compile(
    r"(?:停止(?:更新|发布|推送|运营|运维|维护更新)|停更|不再(?:更新|发布|推送|运营)|关停|"
    r"注销关闭|关闭(?:并|和)?注销|(?:启动|进入|履行)?(?:关停)?注销(?:程序|手续)?|申请注销|予以注销|"
    r"永久下线|下线(?:并|和)注销|下线(?:公告|说明)|正式关闭|整合并入|并入|迁移至|整体迁移|合并至|撤销)"
)
# Every action above holds one of these words: the classifier rejects a text without one at once, and
# detection's SQL prefilter hands it only texts holding one, so the two cannot disagree.
PREFILTER_WORDS = ("停", "不再", "关", "注销", "下线", "并入", "合并", "迁", "整合", "撤销")
# Words of ordinary service posts: with one of these between subject and action it is not a notice.
NEGATIVE = re.compile(
    r"营业执照|个体工商户|企业|公司|户口|户籍|身份证|税务|社保|医保|公积金|银行|手机号|驾驶|机动车|车辆|"
    r"道路|路段|封闭施工|停水|停电|停气|景区|学籍|婚姻|护照|证件|资格|许可|备案号|执业|登记|预约|功能|"
    r"业务|办理|窗口|服务大厅|评论|留言功能|个人账号|个人帐号|用户账号|账户|会员|栏目|专栏|频道|板块|"
    r"社会组织|协会|学会|商会|基金会|合作社"
)
FOLLOW_WORDS = re.compile(r"关注|移步|搜索|登录|访问|下载|并入|迁移|整合")
# Reports about other bodies' closures (news, commentary) are not the publisher's own notice.
REPORTED = re.compile(r"多地|各地|全国|网友热议|引发热议|舆论|评论|梳理发现")
TITLE_HINT = re.compile(r"停更|停止更新|关停|注销|下线|并入|整合|不再更新")
SENTENCE = re.compile(r"[^。！？!?\n；;]+")
IMMEDIATE = re.compile(r"即日起|即日|今日起|今天起|即时起")
AFTER_DAYS = re.compile(
    r"(?P<n>\d{1,3}|[一二三四五六七八九十]{1,3})\s*(?:天|日|个工作日)后(?:正式)?(?:关停|注销|关闭|下线)"
)
URL = re.compile(r"https?://[\w.\-/:%?=&#~]+[\w/]")
QUOTED = re.compile(r"[“\"「『](?P<name>[^”\"」』]{2,24})[”\"」』]")
FOLLOW_ACCOUNT = re.compile(
    r"(?:关注|移步|搜索|查看|订阅|转至|前往)\s*[“\"「『](?P<name>[^”\"」』]{2,24})[”\"」』]\s*"
    r"(?P<kind>微信公众号|公众号|官方微博|微博|抖音号|头条号|视频号|客户端|APP|App|app|相关账号|账号|网站)?"
)
PORTAL = re.compile(
    r"(?:并入|迁移至|迁至|转至|整合至|合并至|登录|访问|关注)\s*(?P<name>[\u4e00-\u9fa5]{2,24}?(?:门户网站|网站))"
    r"(?:\s*[（(]\s*(?P<url>https?://[^）)\s]+)\s*[）)])?"
)


@dataclass(frozen=True)
class MigrationTarget:
    kind: str  # account / portal / app
    name: str
    url: str | None = None


@dataclass
class Notice:
    """A recognised closure notice and what it says."""

    action: str
    sentence: str
    subject: str | None  # the account or site named ("青山教育"), None when only "本账号"
    effective_date: date
    date_source: str  # explicit / month_day / chinese / immediate / relative / posted
    shutdown_date: date | None = None  # "30天后关停"
    targets: list[MigrationTarget] = field(default_factory=list)

    def status(self, as_of: date) -> str:
        return "closed" if self.effective_date <= as_of else "closing"


def extract_effective_date(text: str, posted: date) -> tuple[date, str, date | None]:
    """(effective date, how it was found, shutdown date) from the sentence or text of a notice."""
    ref = datetime.combine(posted, datetime.min.time(), tzinfo=CHINA_TZ)
    found: list[tuple[int, date, str]] = [
        (d.start, d.value.date(), d.form)
        for d in find_dates(text, ref=ref, tense="future")
        if d.form in ("explicit", "chinese", "month_day")
    ]
    if (im := IMMEDIATE.search(text)) is not None:
        found.append((im.start(), posted, "immediate"))
    found.sort(key=lambda f: f[0])
    after = AFTER_DAYS.search(text)
    days = cn_number(after["n"]) if after else None
    if found:
        _, eff, source = found[0]
    elif days is not None:
        eff, source = posted, "relative"
    else:
        eff, source = posted, "posted"
    shutdown = eff + timedelta(days=days) if days is not None else None
    if source == "relative" and shutdown is not None:
        eff = shutdown
    return eff, source, shutdown


def has_date(text: str) -> bool:
    ref = datetime(2000, 1, 1, tzinfo=CHINA_TZ)
    return IMMEDIATE.search(text) is not None or any(
        d.form in ("explicit", "chinese", "month_day") for d in find_dates(text, ref=ref)
    )


def extract_targets(text: str) -> list[MigrationTarget]:
    targets: list[MigrationTarget] = []
    for m in PORTAL.finditer(text):
        name = re.sub(r"^(?:今后可|可|请)", "", m["name"])
        url = m["url"]
        if url is None and (u := URL.search(text[m.end() : m.end() + 60])) is not None:
            url = u.group(0)
        targets.append(MigrationTarget("portal", name, url))
    for m in FOLLOW_ACCOUNT.finditer(text):
        kind = "app" if (m["kind"] or "") in ("客户端", "APP", "App", "app") else "account"
        if (m["kind"] or "") == "网站":
            kind = "portal"
        targets.append(MigrationTarget(kind, m["name"], None))
    seen: set[tuple[str, str]] = set()
    unique = []
    for t in targets:
        if (t.kind, t.name) not in seen:
            seen.add((t.kind, t.name))
            unique.append(t)
    return unique


def _is_channel(subject: str) -> bool:
    """ "关停“X”微博" names a channel; "注销“X协会”" names something else: the object must be a channel."""
    return subject.startswith(("本", "该")) or re.search(_MEDIA + r"$", subject) is not None


def _find_claim(sentence: str) -> tuple[re.Match[str], re.Match[str]] | None:
    """A self-subject and an action within a few characters, nothing ordinary in between."""
    for subj in SELF.finditer(sentence):
        for act in ACTION.finditer(sentence):
            if act.start() >= subj.end():
                gap = sentence[subj.end() : act.start()]
                if len(gap) <= 22 and not NEGATIVE.search(gap):
                    return subj, act
            elif act.end() <= subj.start() and _is_channel(subj.group(0)):
                gap = sentence[act.end() : subj.start()]
                if len(gap) <= 4 and not NEGATIVE.search(gap) and not FOLLOW_WORDS.search(gap):
                    return subj, act
    return None


def classify_notice(title: str | None, text: str | None, posted_at: datetime | date) -> Notice | None:
    """A closure notice (with its date, subject and migration targets), or None for anything else."""
    title, text = (title or "").strip(), (text or "").strip()
    if not has_prefilter_word(f"{title}{text}"):
        return None
    posted = posted_at.date() if isinstance(posted_at, datetime) else posted_at
    sentences = [s.strip() for s in SENTENCE.findall(title)] + [s.strip() for s in SENTENCE.findall(text)]
    claim = None
    for sentence in sentences:
        if (NEGATIVE.search(sentence) and not TITLE_HINT.search(sentence)) or REPORTED.search(sentence):
            continue
        found = _find_claim(sentence)
        if found is not None:
            claim = (sentence, *found)
            break
    if claim is None:
        return None
    sentence, subj, act = claim
    # A date named in the claiming sentence wins; else the first date in the body.
    dated = sentence if has_date(sentence) else f"{title}。{text}"
    eff, source, shutdown = extract_effective_date(dated, posted)
    if shutdown is None:
        _, _, shutdown = (
            extract_effective_date(text, posted) if AFTER_DAYS.search(text) else (eff, source, None)
        )
        if shutdown is not None and shutdown < eff:
            shutdown = eff + (shutdown - posted)
    name = None
    for source_text in (subj.group(0), title, text):
        if (q := QUOTED.search(source_text)) is not None:
            name = q["name"]
            break
    return Notice(
        action=act.group(0),
        sentence=sentence[:200],
        subject=name,
        effective_date=eff,
        date_source=source,
        shutdown_date=shutdown,
        targets=[t for t in extract_targets(f"{title}。{text}") if t.name != name],
    )


def has_prefilter_word(text: str) -> bool:
    return any(word in text for word in PREFILTER_WORDS)


def notice_to_json(n: Notice) -> str:
    data = asdict(n)
    data["effective_date"] = n.effective_date.isoformat()
    data["shutdown_date"] = n.shutdown_date.isoformat() if n.shutdown_date else None
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def notice_from_json(data: str | dict[str, Any]) -> Notice:
    d = json.loads(data) if isinstance(data, str) else dict(data)
    d["effective_date"] = date.fromisoformat(d["effective_date"])
    d["shutdown_date"] = date.fromisoformat(d["shutdown_date"]) if d.get("shutdown_date") else None
    d["targets"] = [MigrationTarget(**t) for t in d.get("targets") or []]
    return Notice(**d)
