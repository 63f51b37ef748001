"""Feed spider: RSS 2.0 and Atom, the bridge for accounts read through RSSHub / WeRSS-style feeds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lxml import etree
from scrapy.http import Response

from core.dates import normalize_timestamp
from core.enums import AccountStatus, CheckKind, CheckOutcome, PostKind
from core.items import AccountItem, BatchItem, PostItem
from core.text import summarize_html
from db import load_targets
from spiders.base import MonitorSpider, SourceError
from spiders.charset import decode_by_evidence
from spiders.pagestate import classify_page_state

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC = "{http://purl.org/dc/elements/1.1/}"
# Bridges mark 原创 / 转载 in <category>; a body opening with 来源：/ 转自 names a repost's source.
REPOST_SOURCE = re.compile(r"^\s*(?:来源|转自|转载自|稿源)\s*[:：]\s*(?P<src>[^\s，。,]{1,30})")
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=False, huge_tree=False)


@dataclass
class FeedEntry:
    post_id: str
    title: str | None
    url: str | None
    published_at: str | None
    author: str | None
    html: str
    categories: list[str] = field(default_factory=list)


@dataclass
class Feed:
    title: str | None
    link: str | None
    entries: list[FeedEntry]


def _text(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


def parse_feed(body: bytes, url: str = "") -> Feed:
    """Parse RSS 2.0 or Atom; raise SourceError for HTML state pages and malformed XML."""
    if not body.strip():
        raise SourceError(CheckOutcome.EMPTY, "empty answer where a feed was expected")
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        decoding = decode_by_evidence(body, None)
        page = body.decode(decoding.encoding or "utf-8", "replace")
        state = classify_page_state(page, url)
        if state:
            raise SourceError(state.outcome, state.reason, state.account_status)
        raise SourceError(CheckOutcome.MALFORMED, "an HTML page where a feed was expected")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        root = _reencoded(body)
        if root is None:
            raise SourceError(CheckOutcome.MALFORMED, f"malformed XML: {exc}") from exc
    except ValueError as exc:  # lxml refuses some bodies outright (e.g. an unknown encoding name)
        raise SourceError(CheckOutcome.MALFORMED, f"malformed XML: {exc}") from exc
    if root.tag == f"{ATOM}feed":
        return _parse_atom(root)
    if root.tag == "rss" or root.tag.endswith("RDF"):
        return _parse_rss(root)
    raise SourceError(CheckOutcome.MALFORMED, f"not RSS or Atom (root element <{root.tag}>)")


def _reencoded(body: bytes) -> etree._Element | None:
    """A feed whose bytes are not in the encoding its XML declaration names (GBK under
    encoding="utf-8"): read by evidence and parsed again as UTF-8, or None when it is broken anyway."""
    decoding = decode_by_evidence(body, None)
    if decoding.encoding in (None, "utf-8"):
        return None
    text = body.decode(decoding.encoding, "replace")
    text = XML_DECLARATION.sub("", text, count=1)
    try:
        return etree.fromstring(text.encode("utf-8"), parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None


# An RSS item's fields, first of each tag, read in one pass over its children.
_RSS_FIELDS = frozenset(
    ("link", "guid", "title", "pubDate", f"{DC}date", f"{DC}creator", "author", CONTENT, "description")
)


def _parse_rss(root: etree._Element) -> Feed:
    channel = root.find("channel")
    if channel is None:
        raise SourceError(CheckOutcome.MALFORMED, "RSS without <channel>")
    entries = []
    for item in channel.iter("item"):
        found: dict[str, str | None] = {}
        categories = []
        for child in item:
            tag = child.tag
            if tag == "category":
                if child.text:
                    categories.append(child.text.strip())
            elif tag in _RSS_FIELDS and tag not in found:
                text = child.text  # as _text() reads it, without a call per field
                found[tag] = (text.strip() or None) if text is not None else None
        get = found.get
        link = get("link")
        entries.append(
            FeedEntry(
                post_id=get("guid") or link or get("title") or "",
                title=get("title"),
                url=link,
                published_at=get("pubDate") or get(f"{DC}date"),
                author=get(f"{DC}creator") or get("author"),
                html=get(CONTENT) or get("description") or "",
                categories=categories,
            )
        )
    return Feed(_text(channel.find("title")), _text(channel.find("link")), entries)


def _parse_atom(root: etree._Element) -> Feed:
    def link_of(el: etree._Element) -> str | None:
        links = el.findall(f"{ATOM}link")
        for ln in links:
            if ln.get("rel", "alternate") == "alternate":
                return ln.get("href")
        return links[0].get("href") if links else None

    entries = []
    for entry in root.iter(f"{ATOM}entry"):
        link = link_of(entry)
        author = entry.find(f"{ATOM}author")
        entries.append(
            FeedEntry(
                post_id=_text(entry.find(f"{ATOM}id")) or link or "",
                title=_text(entry.find(f"{ATOM}title")),
                url=link,
                published_at=_text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated")),
                author=_text(author.find(f"{ATOM}name")) if author is not None else None,
                html=_text(entry.find(f"{ATOM}content")) or _text(entry.find(f"{ATOM}summary")) or "",
                categories=[c.get("term", "").strip() for c in entry.findall(f"{ATOM}category")],
            )
        )
    return Feed(_text(root.find(f"{ATOM}title")), link_of(root), entries)


def entry_to_post(entry: FeedEntry, *, target_id: int, platform: str) -> PostItem:
    text, images, videos = summarize_html(entry.html)
    is_original = 1 if "原创" in entry.categories else 0 if "转载" in entry.categories else None
    source = REPOST_SOURCE.match(text)
    return PostItem(
        target_id=target_id,
        platform=platform,
        post_id=entry.post_id,
        url=entry.url,
        title=entry.title,
        text=text,
        author=entry.author,
        published_at=normalize_timestamp(entry.published_at) or entry.published_at,
        kind=PostKind.ARTICLE,
        is_original=is_original,
        is_repost=1 if (source or is_original == 0) else 0,
        repost_source=source["src"] if source else None,
        image_count=images,
        video_count=videos,
    )


class FeedSpider(MonitorSpider):
    """Every active target with a feed URL (platform feed, or a WeChat/Douyin/... row with `feed`)."""

    name = "feed"
    platforms: ClassVar[tuple[str, ...]] = ("feed",)
    start_kind = CheckKind.FEED

    def select_targets(self, db: Any) -> list[dict[str, Any]]:
        return load_targets(db, platforms=self.platforms, ids=self.target_ids, with_feed=True)

    def start_target(self, target: dict[str, Any]) -> Iterator[Any]:
        # Conditional: an unchanged feed answers 304 and costs no parsing (validators from earlier runs).
        yield self.target_request(
            target["feed_url"], target, self.parse, kind=CheckKind.FEED, conditional=True, render=False
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        target = response.meta["target"]
        tid = target["id"]
        early = self.preamble(response)
        if early is not None:
            yield from early
            return
        try:
            feed = parse_feed(response.body, response.url)
        except SourceError as exc:
            self.crawler.stats.inc_value(f"monitor/feed/{exc.outcome}")
            yield self.check(response, outcome=exc.outcome, error=exc.reason)
            if exc.status is not None:
                yield AccountItem(
                    target_id=tid,
                    status=exc.status,
                    status_reason=exc.reason,
                    evidence_url=response.url,
                )
            return
        # The whole page as one item (Scrapy's machinery costs per item): check, account, posts, validator.
        page: list[Any] = [
            self.check(response),
            AccountItem(target_id=tid, status=AccountStatus.ACTIVE, name=feed.title, posts_count=None),
        ]
        platform = target["platform"]
        try:
            posts = [
                entry_to_post(entry, target_id=tid, platform=platform)
                for entry in feed.entries
                if entry.post_id
            ]
        except Exception:  # an entry the parser breaks on loses the entries, not the check and account
            yield BatchItem(target_id=tid, items=page)
            raise
        page += self.new_posts(posts)
        validator = self.validator_item(response, key=target["feed_url"], target_id=tid)
        if validator is not None:
            page.append(validator)  # last: only a page read to its end is answered 304 next time
        yield BatchItem(target_id=tid, items=page)
