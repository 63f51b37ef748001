"""The dead-link check (错链死链): what a page links to, which links are the site's, the checks to send."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

import scrapy
from parsel import Selector

from core.enums import CheckKind
from spiders.base import ERROR_STATUSES

SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "#", "data:", "about:", "sms:")
LINK_XPATHS = (
    ("//a[@href]", "href"),
    ("//area[@href]", "href"),
    ("//img[@src]", "src"),
    ("//script[@src]", "src"),
    ("//link[@href][not(@rel='canonical')]", "href"),
    ("//iframe[@src]", "src"),
    ("//embed[@src]", "src"),
    ("//source[@src]", "src"),
    ("//video[@src]", "src"),
    ("//audio[@src]", "src"),
    ("//object[@data]", "data"),
)


def attr(node: Selector, name: str) -> str:
    """One attribute of an element ('' when absent). Never lists the element's other attributes: lxml
    refuses to read a malformed attribute name, which parsel's ``.attrib`` would have to."""
    root = node.root
    value = root.get(name) if hasattr(root, "get") and not isinstance(root, str) else None
    return value or ""


def absolute_url(base: str, href: str | None) -> str | None:
    """The absolute http(s) URL of a link, or None for javascript:/mailto:/tel:/# and junk."""
    if not href or not isinstance(href, str):  # a target's options may hold anything
        return None
    href = href.strip()
    if not href or href.lower().startswith(SKIP_SCHEMES):
        return None
    try:
        url = urldefrag(urljoin(base, href))[0]
        scheme = urlsplit(url).scheme
    except ValueError:  # http://[::1/, a host that NFKC-normalises into '/' or ':' …
        return None
    return url if scheme in ("http", "https") else None


def extract_links(sel: Selector, base: str) -> list[str]:
    """Every link and embedded resource on a page (anchors, images, scripts, styles, frames), once each."""
    seen: dict[str, None] = {}
    for xpath, attr in LINK_XPATHS:
        for href in sel.xpath(f"{xpath}/@{attr}").getall():
            url = absolute_url(base, href)
            if url:
                seen.setdefault(url, None)
    return list(seen)


def site_root(homepage: str) -> str:
    """The prefix under which a portal's own pages live (the homepage's directory)."""
    parts = urlsplit(homepage)
    path = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_internal(url: str, root: str) -> bool:
    return url.startswith(root)


@dataclass
class LinkChecker:
    """The link checks of one run: each link once per site, down to ``max_depth`` (1 = homepage links,
    2 = + column pages, 3 = + the opened article pages); HEAD first, GET when HEAD is refused."""

    enabled: bool
    max_depth: int
    timeout: float
    callback: Callable[..., Any]
    errback: Callable[..., Any]
    seen: set[str] = field(default_factory=set)

    def requests(
        self, urls: Iterable[str], *, found_on: str, target: dict[str, Any], depth: int
    ) -> Iterator[scrapy.Request]:
        if not self.enabled or depth > self.max_depth:
            return
        for url in urls:
            # Once per run and site: a link shared by two portals is recorded for each.
            key = f"{target['id']} {url}"
            if key in self.seen:
                continue
            self.seen.add(key)
            yield self.request(url, "HEAD", found_on=found_on, target=target)

    def request(self, url: str, method: str, *, found_on: str, target: dict[str, Any]) -> scrapy.Request:
        return scrapy.Request(
            url,
            method=method,
            callback=self.callback,
            errback=self.errback,
            meta={
                "target": target,
                "kind": CheckKind.LINK,
                "found_on": found_on,
                "handle_httpstatus_list": ERROR_STATUSES,
                "download_timeout": self.timeout,
                "dont_retry": True,
            },
            dont_filter=True,
            priority=-10,
        )
