"""The demo world's model: regions, organisations and accounts in every state, ages relative to as_of."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.clock import to_china
from demo import text

# (region_code, region_name, level, short place name)
REGIONS = (
    ("990000", "示范省", "省级", "示范"),
    ("990100", "临江市", "市级", "临江"),
    ("990102", "临江市青山区", "县级", "青山"),
    ("990121", "河口县", "县级", "河口"),
    ("990121101", "河口县石桥镇", "乡镇级", "石桥"),
    ("990200", "云川市", "市级", "云川"),
)
BUREAUS = (
    ("文旅", "文化和旅游局"),
    ("市场监管", "市场监督管理局"),
    ("住建", "住房和城乡建设局"),
    ("教育", "教育局"),
    ("科协", "科学技术协会"),
    ("卫健", "卫生健康委员会"),
    ("生态环境", "生态环境局"),
)

# The planted accounts, in a fixed order: (slug, archetype, region index, bureau index or None).
PLANTED = (
    ("linjiang-fabu", "active", 1, None),
    ("yunchuan-fabu", "atom_active", 5, None),
    ("qingshan-jiaoyu", "stale", 2, 3),
    ("hekou-kexie", "zombie", 3, 4),
    ("qingshan-zhujian", "closed", 2, 2),
    ("yunchuan-weijian", "closing", 5, 5),
    ("linjiang-wenlv", "repost_heavy", 1, 0),
    ("hekou-shichang", "poster_only", 3, 1),
    ("shiqiao-zhengwu", "weekly_report_only", 4, None),
    ("linjiang-shichang", "hard_negative", 1, 1),
    ("yunchuan-shengtai", "deleted", 5, 6),
    ("shifan-weijian", "login_wall", 0, 5),
    ("hekou-wenlv", "dead_link", 3, 0),
    ("qingshan-kexie", "malformed", 2, 4),
    ("linjiang-keji", "unreachable", 1, 4),
)
# Archetypes that answer with posts; the others are states of the feed itself.
POSTING = {
    "malformed",
    "active",
    "atom_active",
    "stale",
    "zombie",
    "closed",
    "closing",
    "repost_heavy",
    "poster_only",
    "weekly_report_only",
    "hard_negative",
}
EXTRA_MIX = ("active",) * 14 + ("stale",) * 3 + ("zombie", "repost_heavy", "poster_only")
REPOST_SOURCES = ("人民日报", "新华社", "央视新闻", "示范省发布")


@dataclass
class DemoPost:
    n: int
    title: str
    body: str
    published_at: datetime
    is_original: bool | None = None
    repost_source: str | None = None
    image_count: int = 0
    video_count: int = 0


@dataclass
class DemoAccount:
    slug: str
    archetype: str
    name: str
    org: str
    region_code: str
    region_name: str
    level: str
    posts: list[DemoPost] = field(default_factory=list)
    notice: DemoPost | None = None  # the planted closure / stop-update notice, if any

    @property
    def newest(self) -> datetime | None:
        return max((p.published_at for p in self.posts), default=None)


def province(as_of: datetime, *, accounts: int = 6000, portals: int = 600, posts: int = 10) -> World:
    """A province: accounts split evenly over feeds, WeChat and Weibo, and portal sites."""
    third = accounts // 3
    return World(
        as_of=as_of,
        accounts=max(accounts - 2 * third, len(PLANTED)),
        posts=posts,
        wechat_extra=third,
        weibo_extra=third,
        portal_extra=portals,
    )


@dataclass
class World:
    as_of: datetime
    accounts: int = len(PLANTED)
    posts: int = 30
    seed: int = 2024
    # A province's worth of ordinary accounts and sites beside the planted ones (benchmarks; 0 = none)
    wechat_extra: int = 0
    weibo_extra: int = 0
    portal_extra: int = 0
    feed_accounts: list[DemoAccount] = field(default_factory=list)
    version: int = 0  # bumped whenever the world is changed while served

    def __post_init__(self) -> None:
        self.as_of = to_china(self.as_of)
        self.feed_accounts = [self._make_account(i) for i in range(max(self.accounts, 0))]

    def extra_account(self, platform: str, i: int, *, posts: int) -> DemoAccount:
        """The i-th ordinary account of a platform beyond the planted ones (mostly active)."""
        rng = random.Random(f"{self.seed}:{platform}:{i}")
        archetype = rng.choice(("active",) * 14 + ("stale",) * 3 + ("zombie",))
        acc = self.make_account(
            f"{platform}-x{i:05d}",
            archetype,
            rng.randrange(len(REGIONS)),
            rng.randrange(len(BUREAUS)),
            posts=posts,
        )
        acc.name = f"{acc.name}{i}"
        return acc

    def account(self, slug: str) -> DemoAccount | None:
        return next((a for a in self.feed_accounts if a.slug == slug), None)

    def _make_account(self, i: int) -> DemoAccount:
        if i < len(PLANTED):
            slug, archetype, region_i, bureau_i = PLANTED[i]
        else:
            rng = random.Random(f"{self.seed}:extra:{i}")
            archetype = rng.choice(EXTRA_MIX)
            region_i, bureau_i = rng.randrange(len(REGIONS)), rng.randrange(len(BUREAUS))
            slug = f"acct-{i:05d}"
        code, region_name, level, place = REGIONS[region_i]
        if bureau_i is None:
            name = f"{place}发布" if level != "乡镇级" else f"{place}镇政务"
            org = f"{region_name}人民政府办公室" if level != "乡镇级" else f"{region_name}人民政府"
        else:
            short, full = BUREAUS[bureau_i]
            name, org = f"{place}{short}", f"{region_name}{full}"
        if i >= len(PLANTED):
            name = f"{name}{i}"
        account = DemoAccount(slug, archetype, name, org, code, region_name, level)
        if archetype in POSTING:
            account.posts = self._make_posts(account, random.Random(f"{self.seed}:{slug}"))
        return account

    def make_account(
        self, slug: str, archetype: str, region_i: int, bureau_i: int | None, *, posts: int
    ) -> DemoAccount:
        """An account of another platform (WeChat, Weibo) with this world's archetypes and clock."""
        code, region_name, level, place = REGIONS[region_i]
        if bureau_i is None:
            name = f"{place}发布" if level != "乡镇级" else f"{place}镇政务"
            org = f"{region_name}人民政府办公室" if level != "乡镇级" else f"{region_name}人民政府"
        else:
            short, full = BUREAUS[bureau_i]
            name, org = f"{place}{short}", f"{region_name}{full}"
        account = DemoAccount(slug, archetype, name, org, code, region_name, level)
        if archetype in POSTING:
            account.posts = self._make_posts(account, random.Random(f"{self.seed}:{slug}"), posts)
        return account

    def _make_posts(self, acc: DemoAccount, rng: random.Random, count: int | None = None) -> list[DemoPost]:
        as_of, m = self.as_of, max(self.posts if count is None else count, 1)
        place = acc.region_name
        posts: list[DemoPost] = []

        def add(age_days: float, title: str, body: str, **kw: object) -> DemoPost:
            when = (as_of - timedelta(days=age_days)).replace(microsecond=0)
            posts.append(DemoPost(len(posts) + 1, title, body, when, **kw))  # type: ignore[arg-type]
            return posts[-1]

        def ordinary(age: float, **kw: object) -> None:
            title, body = text.ordinary_post(rng, org=acc.org, region=place)
            add(age, title, body, is_original=True, **kw)

        kind = acc.archetype
        if kind in ("active", "atom_active", "malformed"):
            for i in range(m):
                ordinary(0.2 + i * 1.3 + rng.random() * 0.2)
        elif kind == "stale":
            for i in range(m):
                ordinary(20 + i * 3)
        elif kind == "zombie":
            title, body = text.stop_notice(name=acc.name, successor=f"{place[:2]}发布")
            acc.notice = add(40, title, body, is_original=True)
            for i in range(m - 1):
                ordinary(400 + i * 5)
        elif kind == "closed":
            effective = as_of - timedelta(days=25)
            title, body = text.closure_notice(
                name=acc.name,
                effective=effective,
                portal="临江市人民政府门户网站",
                portal_url="http://www.linjiang.gov.cn/",
            )
            acc.notice = add(30, title, body, is_original=True)
            for i in range(m - 1):
                ordinary(45 + i * 2)
        elif kind == "closing":
            effective = as_of + timedelta(days=20)
            title, body = text.future_closure_notice(name=acc.name, effective=effective, successor="云川发布")
            acc.notice = add(3, title, body, is_original=True)
            for i in range(m - 1):
                ordinary(4 + i * 1.5)
        elif kind == "repost_heavy":
            for i in range(m):
                if i % 5 == 4:
                    ordinary(0.5 + i)
                else:
                    title, body = text.ordinary_post(rng, org=acc.org, region=place)
                    add(
                        0.5 + i,
                        title,
                        body,
                        is_original=False,
                        repost_source=rng.choice(REPOST_SOURCES),
                    )
        elif kind == "poster_only":
            for i in range(m):
                if i % 4 == 3:
                    ordinary(0.5 + i * 1.2)
                else:
                    title, _ = text.ordinary_post(rng, org=acc.org, region=place)
                    add(0.5 + i * 1.2, f"海报｜{title}", "", is_original=True, image_count=1)
        elif kind == "weekly_report_only":
            for i in range(m):
                title, body = text.weekly_report(52 - i, org=acc.org)
                add(3 + i * 7, title, body, is_original=True)
        elif kind == "hard_negative":
            for i in range(m):
                if i < len(text.HARD_NEGATIVES):
                    title, body = text.HARD_NEGATIVES[i]
                    add(0.5 + i * 2, title, body.format(region=place), is_original=True)
                else:
                    ordinary(0.5 + i * 2)
        posts.sort(key=lambda p: p.published_at, reverse=True)
        for n, post in enumerate(reversed(posts), start=1):
            post.n = n
        return posts

    @contextmanager
    def changed(self) -> Iterator[World]:
        """Changes made inside (new posts, archetypes) are undone on exit, so one served world can be
        shared by tests that need it as planted and by tests that change it."""
        saved = copy.deepcopy([a.__dict__ for a in self.feed_accounts])
        count, version = len(self.feed_accounts), self.version
        try:
            yield self
        finally:
            del self.feed_accounts[count:]
            for acc, state in zip(self.feed_accounts, saved, strict=True):
                acc.__dict__.clear()
                acc.__dict__.update(state)
            self.version = version

    def add_post(self, slug: str, title: str, body: str) -> DemoPost:
        """Make an account post now (as of the world's clock): used to show a finding resolving."""
        acc = self.account(slug)
        if acc is None:
            raise KeyError(slug)
        post = DemoPost(
            max((p.n for p in acc.posts), default=0) + 1,
            title,
            body,
            self.as_of.replace(microsecond=0),
            is_original=True,
        )
        acc.posts.insert(0, post)
        if acc.archetype not in POSTING:
            acc.archetype = "active"
        self.version += 1
        return post
