"""Every rule at its boundaries with a frozen as_of: freshness, gaps, content quality, profiles, portal."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.clock import CHINA_TZ, iso
from db import open_db
from detection.rules.config import RulesError, load_rules
from detection.rules.freshness import gap_stats, is_stale, is_zombie, months_before
from detection.rules.portal import evaluate_portal, is_column_stale
from detection.rules.quality import cluster_near_duplicates, hamming, is_meeting_title, is_poster, simhash
from tests.helpers import run_scrapy

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=CHINA_TZ)
RULES = load_rules()
NATIONAL = RULES.resolved("national")


@pytest.mark.parametrize(("days", "stale"), [(13, False), (14, False), (14.0001, True), (15, True)])
def test_no_update_14d_boundaries(days: float, stale: bool) -> None:
    assert is_stale(AS_OF - timedelta(days=days), AS_OF, 14) is stale


def test_no_post_at_all_is_stale() -> None:
    assert is_stale(None, AS_OF, 14)


def test_zombie_exactly_three_months() -> None:
    three = datetime(2026, 3, 30, 12, 0, tzinfo=CHINA_TZ)
    assert months_before(AS_OF, 3) == three
    assert not is_zombie(three, AS_OF)
    assert is_zombie(three - timedelta(seconds=1), AS_OF)
    assert not is_zombie(three + timedelta(days=1), AS_OF)
    # month ends clamp: 31 May minus 3 months is 28 Feb
    assert months_before(datetime(2026, 5, 31, tzinfo=CHINA_TZ), 3).day == 28


def test_gap_stats() -> None:
    posts = [AS_OF - timedelta(days=d) for d in (1, 5, 25, 30)]
    stats = gap_stats(posts, as_of=AS_OF, window_start=AS_OF - timedelta(days=90), max_gap_days=7)
    assert stats.longest_days == 20
    assert stats.gaps_over == 1
    assert stats.days_out_of_compliance == 13
    assert (
        gap_stats(posts, as_of=AS_OF, window_start=AS_OF - timedelta(days=90), max_gap_days=20).gaps_over == 0
    )


def test_profiles_and_region_mapping() -> None:
    assert RULES.resolved("周更")["account.update_gaps"]["max_gap_days"] == 7
    assert RULES.resolved("10天")["account.update_gaps"]["max_gap_days"] == 10
    assert RULES.resolved("月均原创")["account.low_original"]["min_per_month"] == 1
    assert RULES.resolved("关停待注销")["account.update_gaps"]["window_days"] == 30
    assert NATIONAL["account.update_gaps"]["max_gap_days"] == 14
    assert RULES.profile_for({"profile": "周更", "region_code": "990100"}) == "周更"
    RULES.regions["9901"] = "10天"
    try:
        assert RULES.profile_for({"profile": None, "region_code": "990102"}) == "10天"
        assert RULES.profile_for({"profile": None, "region_code": "990200"}) == "national"
    finally:
        RULES.regions.clear()
    with pytest.raises(RulesError):
        RULES.resolved("no-such-profile")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("rules:\n  a: [\n", "line 3, column 1: not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        (None, "cannot be read"),
        (b"rules: \xff\xfe\n", "not UTF-8"),
    ],
)
def test_a_bad_rules_file_is_a_clear_error_naming_it(
    tmp_path: Path, content: str | bytes | None, says: str
) -> None:
    """`scrapy detect --rules FILE`: a file that is missing, not UTF-8, not YAML or not a mapping stops the
    run with a usage error naming the file (and the line), before anything is read or written; so does
    MONITOR_RULES for import-targets, crawl and crawlall."""
    rules = tmp_path / "rules.yaml"
    if isinstance(content, bytes):
        rules.write_bytes(content)
    elif content is not None:
        rules.write_text(content, encoding="utf-8")
    db_path = tmp_path / "m.db"
    open_db(db_path).close()
    proc = run_scrapy("detect", "--rules", str(rules), db_path=db_path, check=False)
    assert proc.returncode != 0
    assert f"{rules}:" in proc.stderr, proc.stderr[-2000:]
    assert says in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert open_db(db_path)["runs"].count == 0
    # the same file named by MONITOR_RULES stops an import before it writes a target
    targets = tmp_path / "targets.csv"
    targets.write_text("platform,name,handle\nwechat,某市发布,gh_0123456789ab\n", encoding="utf-8")
    proc = run_scrapy("import-targets", str(targets), db_path=db_path, check=False, MONITOR_RULES=str(rules))
    assert proc.returncode != 0
    assert says in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert open_db(db_path)["targets"].count == 0
    run_scrapy("import-targets", str(targets), db_path=db_path)  # with the shipped rules it imports
    assert open_db(db_path)["targets"].count == 1
    # and stops a crawl (or crawlall) before it starts: no run is recorded, nothing is fetched
    for command in (("crawl", "wechat"), ("crawlall", "--spiders", "wechat")):
        proc = run_scrapy(*command, db_path=db_path, check=False, MONITOR_RULES=str(rules))
        assert proc.returncode != 0, command
        assert says in proc.stderr, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr, command
    assert open_db(db_path)["runs"].count == 0


def test_contract_rule_ids_and_severities() -> None:
    sev = {k: v["severity"] for k, v in RULES.rules.items()}
    assert sev["account.no_update_14d"] == sev["account.zombie"] == sev["account.no_interaction"] == "veto"
    assert sev["account.idle_not_deregistered"] == sev["account.migration_target_stale"] == "deduction"
    assert (
        sev["portal.unreachable"] == sev["portal.unanswered_message"] == sev["portal.blank_columns"] == "veto"
    )
    assert sev["portal.unreachable_warn"] == sev["portal.column_stale"] == "info"
    assert sev["portal.dead_link_homepage"] == sev["portal.invalid_site_id_code"] == "deduction"


def test_simhash_near_duplicates_with_banding() -> None:
    base = "近日，临江市教育局围绕安全生产工作进行专题部署，要求各单位压实责任、狠抓落实。会议指出，要坚持以人民为中心。"  # noqa: E501
    other = "市民如有疑问，可拨打12345政务服务便民热线咨询。下一步，云川市将持续推进垃圾分类工作。"
    a, b, c = simhash(base), simhash(base + "！"), simhash(other)
    assert hamming(a, b) <= 3 < hamming(a, c)
    clusters = cluster_near_duplicates([(1, a), (2, c), (3, b), (4, simhash(" " + other))])
    assert clusters[1] == clusters[3]
    assert clusters[2] == clusters[4]
    assert clusters[1] != clusters[2]


def test_poster_and_meeting_predicates() -> None:
    assert is_poster(0, 1, 20)
    assert not is_poster(0, 2, 20)
    assert not is_poster(200, 1, 20)
    words = NATIONAL["account.meeting_heavy"]["title_words"]
    assert is_meeting_title("石桥镇人民政府第12周工作周报", words)
    assert is_meeting_title("县长调研安全生产工作", words)
    assert not is_meeting_title("图解：医保政策十问十答", words)


def site(**kw: object) -> dict:
    return {
        "homepage_url": "http://x.gov.cn/",
        "homepage_items": 10,
        "homepage_undated": 0,
        "homepage_newest_at": iso(AS_OF - timedelta(days=1)),
        "site_id_code": "9901000001",
        "site_id_code_valid": 1,
        **kw,
    }


def column(i: int, kind: str, age_days: float | None, status: str = "ok") -> dict:
    newest = iso(AS_OF - timedelta(days=age_days)) if age_days is not None else None
    return {
        "url": f"http://x.gov.cn/c{i}/",
        "name": f"栏目{i}",
        "kind": kind,
        "status": status,
        "newest_item_at": newest,
        "item_count": 5,
        "undated_count": 0,
    }


def rules_of(result: object) -> list[str]:
    return sorted(f.rule for f in result.findings)  # type: ignore[attr-defined]


def evaluate(**kw: object) -> object:
    args = {
        "probes": {"probes": 140, "failed": 0, "latest_ok": 1},
        "site": site(),
        "columns": [],
        "dead_links": [],
        "messages": [],
    }
    args.update(kw)
    return evaluate_portal(NATIONAL, as_of=AS_OF, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("failed", "rule"), [(4, []), (5, ["portal.unreachable_warn"]), (7, ["portal.unreachable"])]
)
def test_unreachable_thresholds(failed: int, rule: list[str]) -> None:
    # 140 probes in 7 days: 5 failed = 3.6 % (warn), 7 failed = 5 % (veto), 4 = 2.9 % (nothing)
    assert rules_of(evaluate(probes={"probes": 140, "failed": failed, "latest_ok": 1})) == rule


def test_homepage_stale_boundaries_and_undated() -> None:
    assert rules_of(evaluate(site=site(homepage_newest_at=iso(AS_OF - timedelta(days=14))))) == []
    assert rules_of(evaluate(site=site(homepage_newest_at=iso(AS_OF - timedelta(days=15))))) == [
        "portal.homepage_stale"
    ]
    undated = site(homepage_newest_at=None, homepage_undated=8)
    assert rules_of(evaluate(site=undated)) == ["portal.homepage_stale"]


def test_column_rules_and_counts() -> None:
    assert is_column_stale(column(1, "动态要闻", 14), NATIONAL, AS_OF) is None
    assert is_column_stale(column(1, "动态要闻", 15), NATIONAL, AS_OF) == "news"
    assert is_column_stale(column(1, "政策文件", 150), NATIONAL, AS_OF) is None
    assert is_column_stale(column(1, "政策文件", 200), NATIONAL, AS_OF) == "notice"
    assert is_column_stale(column(1, "动态要闻", None), NATIONAL, AS_OF) == "news"  # undated: not updated
    four = [column(i, "动态要闻", 30) for i in range(4)]
    assert rules_of(evaluate(columns=four)) == ["portal.column_stale"] * 4
    five = [*four, column(9, "通知公告", 400)]
    assert rules_of(evaluate(columns=five)).count("portal.columns_stale") == 1
    blank = [column(i, "其他", None, status="blank") for i in range(5)]
    assert rules_of(evaluate(columns=blank)) == ["portal.blank_column"] * 5 + ["portal.blank_columns"]
    long_stale = [column(i, "人事", 400) for i in range(10)]
    assert rules_of(evaluate(columns=long_stale)) == ["portal.long_stale_columns"]
    assert rules_of(evaluate(columns=[column(i, "人事", 400) for i in range(9)])) == []


def test_no_conclusion_from_missing_data() -> None:
    failed = [
        column(i, "动态要闻", None, status=s) for i, s in enumerate(["unreachable", "parse_failed"] * 3)
    ]
    assert rules_of(evaluate(columns=failed)) == []
    down = evaluate(
        probes={"probes": 140, "failed": 140, "latest_ok": 0},
        columns=[column(1, "动态要闻", 99)],
        site=site(homepage_newest_at=None, homepage_undated=3),
    )
    assert rules_of(down) == ["portal.unreachable"]


def test_links_site_id_and_messages() -> None:
    links = [
        {"url": "http://x.gov.cn/a.pdf", "found_on": "http://x.gov.cn/", "outcome": "not_found"},
        {"url": "http://x.gov.cn/b", "found_on": "http://x.gov.cn/", "outcome": "timeout"},
        *(
            {"url": f"http://x.gov.cn/d{i}", "found_on": "http://x.gov.cn/c/", "outcome": "not_found"}
            for i in range(3)
        ),
    ]
    result = evaluate(
        dead_links=links,
        site=site(site_id_code="123", site_id_code_valid=0),
        messages=[
            {"message_id": "m1", "asked_at": iso(AS_OF - timedelta(days=120)), "answer_state": "open"},
            # no status word, no reply date: no conclusion (the check says it is partial)
            {"message_id": "m2", "asked_at": iso(AS_OF - timedelta(days=120)), "answer_state": "unknown"},
        ],
    )
    assert rules_of(result) == ["portal.dead_link_homepage"] * 2 + [
        "portal.dead_links",
        "portal.invalid_site_id_code",
        "portal.unanswered_message",
    ]
    assert result.coverage == "partial"  # type: ignore[attr-defined]
    assert "1 message(s) old enough to count show no status word" in result.reason  # type: ignore[attr-defined]
    dl = next(f for f in result.findings if f.rule == "portal.dead_links")  # type: ignore[attr-defined]
    assert (dl.evidence["count"], dl.points) == (3, 0.3)


def _simhash_by_definition(text: str) -> int:
    """SimHash as defined: bit i set when more than half the distinct 3-grams' blake2b hashes set it."""
    import hashlib
    import re

    text = re.sub(r"\s+", "", text)[:200]
    grams = {text[i : i + 3] for i in range(max(len(text) - 2, 1))}
    hashes = [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big") for g in grams]
    return sum(1 << i for i in range(64) if 2 * sum(h >> i & 1 for h in hashes) > len(hashes))


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("关停注销本账号公告。，的 \n\t\u3000\xa0\x85\u2028ab1"), max_size=260)
    | st.text(max_size=300)
)
def test_simhash_reads_exactly_its_definition(text: str) -> None:
    # The byte-lane sum and the translate table are a fast path: any text, up to and past 200 characters
    # (198 votes in one byte), must hash exactly as the definition does.
    assert simhash(text) == _simhash_by_definition(text)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("关停注销本账号公告迁移更新。，的 abc"), max_size=120), max_size=6
    )
)
def test_simhash_is_its_definition_while_its_gram_cache_fills_and_empties(texts: list[str]) -> None:
    # The grams' spread hashes are kept in a bounded dict: a text whose grams overflow it empties it
    # first; whatever the cache holds, every hash is the definition's.
    from unittest import mock

    from detection.rules import quality

    with mock.patch.object(quality, "_SPREADS_MAX", 40), mock.patch.dict(quality._SPREADS, clear=True):
        for text in texts:
            assert simhash(text) == _simhash_by_definition(text)
            assert len(quality._SPREADS) <= max(40, len(text))


def _clusters_by_definition(hashes: list[tuple[int, int]], max_hamming: int) -> set[frozenset[int]]:
    """Components of: keys with equal hashes; and, in each 16-bit band, each distinct hash joined to the
    smallest distinct hash with the same band value, when the two differ in at most ``max_hamming``
    bits."""
    keys_of: dict[int, list[int]] = {}
    for key, h in hashes:
        keys_of.setdefault(h % (1 << 64), []).append(key)
    values = sorted(keys_of)
    edges: dict[int, set[int]] = {v: set() for v in values}
    for band in range(4):
        first: dict[int, int] = {}
        for v in values:
            f = first.setdefault(v >> (16 * band) & 0xFFFF, v)
            if f != v and bin(f ^ v).count("1") <= max_hamming:
                edges[f].add(v)
                edges[v].add(f)
    out, seen = set(), set()
    for start in values:
        if start in seen:
            continue
        stack, part = [start], set()
        while stack:
            v = stack.pop()
            if v not in part:
                part.add(v)
                stack.extend(edges[v] - part)
        seen |= part
        members = frozenset(k for v in part for k in keys_of[v])
        if len(members) > 1:
            out.add(members)
    return out


_near = st.integers(0, (1 << 64) - 1).flatmap(
    lambda base: st.lists(
        st.lists(st.integers(0, 63), max_size=5).map(lambda bits: base ^ sum(1 << b for b in set(bits))),
        min_size=1,
        max_size=6,
    )
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_near, max_size=8), st.booleans(), st.integers(0, 3))
def test_clustering_is_the_components_of_its_definition(
    groups: list[list[int]], signed: bool, m: int
) -> None:
    # Hashes near a few bases (within 5 bits, so some pairs fall either side of max_hamming), some
    # equal, stored signed as SQLite keeps them or unsigned: the partition must be the definition's.
    flat = [h for g in groups for h in g]
    hashes = [(key, h - (1 << 64) if signed and h >> 63 else h) for key, h in enumerate(flat, start=100)]
    got: dict[int, set[int]] = {}
    for key, root in cluster_near_duplicates(hashes, m).items():
        got.setdefault(root, set()).add(key)
    assert {frozenset(p) for p in got.values()} == _clusters_by_definition(hashes, m)


@settings(max_examples=200, deadline=None)
@given(st.lists(_near, max_size=8), st.randoms(use_true_random=False))
def test_clusters_do_not_depend_on_the_order_posts_were_written(groups: list[list[int]], rng: Any) -> None:
    # Two crawls of the same posts store them in different orders (and rowids): the same posts must
    # give the same clusters, so the same duplicate_posts findings and evidence.
    flat = [(key, h) for key, h in enumerate((h for g in groups for h in g), start=100)]
    shuffled = flat[:]
    rng.shuffle(shuffled)

    def partition(pairs: list[tuple[int, int]]) -> set[frozenset[int]]:
        got: dict[int, set[int]] = {}
        for key, root in cluster_near_duplicates(pairs, 3).items():
            got.setdefault(root, set()).add(key)
        return {frozenset(p) for p in got.values()}

    assert partition(shuffled) == partition(flat)


def test_equal_hashes_are_joined_however_crowded_their_bands() -> None:
    # The same text posted again by many accounts (a 通稿) has one hash: it must cluster even when an
    # unrelated hash came first in every one of its band buckets (16-bit bands fill up at a province's
    # 170,000 posts a month).
    h = (1 << 64) - 1
    # each shares three bands with h, is smaller (first in those buckets) and differs from it in 4 bits
    crowd = [(b, h & ~(0xF << (16 * ((b + 1) % 4)))) for b in range(4)]
    assert all(hamming(v, h) == 4 for _, v in crowd)
    copies = [(100 + n, h) for n in range(3)]
    clusters = cluster_near_duplicates([*crowd, *copies])
    assert {clusters[k] for k, _ in copies} == {clusters[100]}
