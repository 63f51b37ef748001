"""A portal's columns (栏目): found in its navigation and 更多 links, classified by a table of rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from parsel import Selector

from core.enums import ColumnKind
from core.text import clean_text
from spiders.portal.links import absolute_url, attr, is_internal


@dataclass(frozen=True)
class ColumnRule:
    """One row of the classification table: where to look, a regex, the kind it gives."""

    rule_id: str
    field: str  # column_type (the ColumnType meta) / name / url
    pattern: str
    kind: str

    def matches(self, values: dict[str, str]) -> bool:
        return bool(re.search(self.pattern, values.get(self.field) or ""))


# Checked in order; the first match decides and its id is stored in columns.kind_rule. Ordered so the
# ColumnType meta wins over the name, and the name over the URL; 信访/举报 boards are 互动 too (the board
# kind then tells consultation from petition). Override with MONITOR_PORTAL_COLUMN_RULES or a target's
# options.column_rules (same shape: [rule_id, field, pattern, kind]).
DEFAULT_COLUMN_RULES: tuple[ColumnRule, ...] = (
    ColumnRule(
        "type.interaction",
        "column_type",
        r"互动|信箱|留言|咨询|信访|举报|访谈|征集|来信|反映问题|诉求|问政",
        ColumnKind.INTERACTION,
    ),
    ColumnRule("type.notice", "column_type", r"通知|公告|公示", ColumnKind.NOTICE),
    ColumnRule("type.policy", "column_type", r"政策|文件|法规|规章", ColumnKind.POLICY),
    ColumnRule("type.personnel", "column_type", r"人事|任免|招聘|招考", ColumnKind.PERSONNEL),
    ColumnRule("type.plan", "column_type", r"规划|计划|总结", ColumnKind.PLAN),
    ColumnRule("type.news", "column_type", r"动态|要闻|新闻|资讯", ColumnKind.NEWS),
    ColumnRule("type.service", "column_type", r"服务|办事", ColumnKind.SERVICE),
    ColumnRule(
        "name.interaction",
        "name",
        r"信箱|留言|咨询|互动|信访|举报|访谈|征集|问政|建言|来信|反映问题|投诉|诉求|热线|12345",
        ColumnKind.INTERACTION,
    ),
    ColumnRule("name.notice", "name", r"通知|公告|公示", ColumnKind.NOTICE),
    ColumnRule("name.policy", "name", r"政策|文件|法规|规章|规范性", ColumnKind.POLICY),
    ColumnRule("name.personnel", "name", r"人事|任免|招聘|招考", ColumnKind.PERSONNEL),
    ColumnRule("name.plan", "name", r"规划|计划|总结", ColumnKind.PLAN),
    ColumnRule("name.news", "name", r"要闻|动态|新闻|资讯|快讯|头条|政务信息", ColumnKind.NEWS),
    ColumnRule("name.service", "name", r"办事|服务|指南", ColumnKind.SERVICE),
    ColumnRule(
        "url.interaction",
        "url",
        r"/(hdjl|zmhd|ldxx|xjxx|wszx|liuyan|mailbox|xfts|szxx|sjxx|fywt|gzlx)",
        ColumnKind.INTERACTION,
    ),
    ColumnRule("url.notice", "url", r"/(tzgg|gsgg|notice|gg)/", ColumnKind.NOTICE),
    ColumnRule("url.policy", "url", r"/(zcwj|zfwj|gfxwj|policy|zcfg)/", ColumnKind.POLICY),
    ColumnRule("url.personnel", "url", r"/(rsxx|rsrm)/", ColumnKind.PERSONNEL),
    ColumnRule("url.plan", "url", r"/(ghjh|fzgh)/", ColumnKind.PLAN),
    ColumnRule("url.news", "url", r"/(xwzx|ywdt|news|gzdt|bmdt|xwdt|jryw)/", ColumnKind.NEWS),
    ColumnRule("url.service", "url", r"/(bsfw|zwfw|service)/", ColumnKind.SERVICE),
)


def load_column_rules(raw: Iterable[Any] | None) -> tuple[ColumnRule, ...]:
    """Rules from settings/options ([rule_id, field, pattern, kind] lists) ahead of the defaults."""
    extra = []
    for row in raw or ():
        rule_id, fld, pattern, kind = (
            (row[k] for k in ("rule_id", "field", "pattern", "kind")) if isinstance(row, dict) else row
        )
        if fld not in ("column_type", "name", "url") or kind not in {k.value for k in ColumnKind}:
            raise ValueError(
                f"bad column rule {row!r}: field in column_type/name/url, kind in {list(ColumnKind)}"
            )
        re.compile(pattern)
        extra.append(ColumnRule(str(rule_id), fld, pattern, kind))
    return (*extra, *DEFAULT_COLUMN_RULES)


def classify_column(
    *, name: str | None, url: str, column_type: str | None, rules: Iterable[ColumnRule] = DEFAULT_COLUMN_RULES
) -> tuple[str, str]:
    """(kind, id of the rule that decided); ('其他', 'default') when no rule matches."""
    values = {"name": name or "", "url": url, "column_type": column_type or ""}
    for rule in rules:
        if rule.matches(values):
            return rule.kind, rule.rule_id
    return ColumnKind.OTHER, "default"


@dataclass
class ColumnRef:
    url: str
    name: str | None
    source: str  # nav / block / target


NAV_XPATH = (
    "//*[self::nav or self::ul or self::div][re:test(concat(@class, ' ', @id), "
    "'(^|[\\s_-])(nav|menu|navbar|mainnav|topnav)', 'i')]//a[@href]"
)
MORE_XPATH = "//a[re:test(normalize-space(.), '^(更多|more|MORE|更多>>|更多&gt;&gt;|>>|更多\\s*>+)$')]"
HOME_WORDS = re.compile(r"^(首页|网站首页|主页|home)$", re.I)


def discover_columns(sel: Selector, homepage: str, root: str) -> list[ColumnRef]:
    """Columns from the navigation (duplicated menus folded) and from blocks' 更多 links, inside the site."""
    found: dict[str, ColumnRef] = {}
    for a in sel.xpath(NAV_XPATH):
        url = absolute_url(homepage, attr(a, "href"))
        name = clean_text(" ".join(a.xpath(".//text()").getall()))
        if (
            not url
            or not is_internal(url, root)
            or url.rstrip("/") == homepage.rstrip("/")
            or HOME_WORDS.match(name)
        ):
            continue
        if url == root or url == root + "index.html":
            continue
        found.setdefault(url, ColumnRef(url, name or None, "nav"))
    for a in sel.xpath(MORE_XPATH):
        url = absolute_url(homepage, attr(a, "href"))
        if not url or not is_internal(url, root) or url in found:
            continue
        title = a.xpath(
            "ancestor::*[.//h2 or .//h3 or .//*[contains(@class, 'title')]][1]"
            "//*[self::h2 or self::h3 or contains(@class, 'title')][1]//text()"
        ).getall()
        found[url] = ColumnRef(url, clean_text(" ".join(title)) or None, "block")
    return list(found.values())


def add_target_columns(columns: list[ColumnRef], extra: Iterable[Any], homepage: str) -> list[ColumnRef]:
    """The discovered columns with a target's own (options.columns: URLs or {url, name}) last, replacing
    a discovered column of the same URL."""
    for spec in extra:
        spec = spec if isinstance(spec, dict) else {"url": spec}
        url = absolute_url(homepage, spec.get("url"))
        if url:
            name = spec.get("name")
            columns = [c for c in columns if c.url != url]
            columns.append(ColumnRef(url, name if isinstance(name, str) else None, "target"))
    return columns
