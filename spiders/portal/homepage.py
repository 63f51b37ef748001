"""Whether a portal homepage answer is a page to read: walls, empty and non-HTML answers, garbled text.

Only a readable homepage is read for site meta (SiteIDCode, footer records) and homepage freshness: a
login page, a captcha or a blank answer has no SiteIDCode and no dated rows, and reading it would report
the site as having none.
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.http import Response, TextResponse

from core.enums import CheckOutcome
from spiders.charset import Decoding, declared_encoding, decode_by_evidence
from spiders.pagestate import PageState, classify_wall
from spiders.portal.meta import ensure_encoding

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Types a server sends HTML under by mistake: the body decides.
SNIFFED_TYPES = ("", "text/plain", "text/xml", "application/xml", "application/octet-stream")
MARKUP_HEADS = (
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<meta",
    b"<title",
    b"<div",
    b"<script",
    b"<?xml",
)
# A page whose only content is a script, a frameset or a refresh goes on elsewhere: it is not empty.
LIVE_XPATH = "//script | //frame | //iframe | //meta[@http-equiv] | //form | //img | //object | //embed"


@dataclass
class Homepage:
    page: TextResponse | None  # the decoded page, when it is one
    outcome: CheckOutcome | None  # None: a readable page
    reason: str | None = None
    decoding: Decoding | None = None


def content_type_of(response: Response) -> str:
    raw = response.headers.get("Content-Type") or b""
    return raw.decode("latin-1").split(";", 1)[0].strip().lower()


def looks_like_markup(body: bytes) -> bool:
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and any(mark in head for mark in MARKUP_HEADS)


def read_homepage(response: Response) -> Homepage:
    """The homepage as a page to read, or the outcome that says why it is not one."""
    meta = response.meta if response.request is not None else {}
    if meta.get("block_reason"):
        return Homepage(None, meta.get("block_outcome") or CheckOutcome.BLOCKED, meta["block_reason"])
    body = response.body
    if not body.strip():
        return Homepage(None, CheckOutcome.EMPTY, "empty body")
    ctype = content_type_of(response)
    if ctype not in HTML_TYPES and (ctype not in SNIFFED_TYPES or not looks_like_markup(body)):
        return Homepage(None, CheckOutcome.NOT_HTML, f"not a web page ({ctype or 'no Content-Type'})")
    decoding = decode_by_evidence(body, declared_encoding(response.headers.get("Content-Type"), body))
    if decoding.is_garbled:
        return Homepage(
            None,
            CheckOutcome.MALFORMED,
            f"undecodable text: {decoding.bad_share:.1%} of its bytes are not "
            f"{decoding.declared or 'UTF-8'} nor GB18030",
            decoding,
        )
    page = ensure_encoding(response, decoding)
    text, links = visible_text(page), len(page.selector.xpath("//a[@href]"))
    wall = wall_of(page, text, links)
    if wall is not None:
        return Homepage(None, wall.outcome, wall.reason, decoding)
    if not text and not links and not page.selector.xpath(LIVE_XPATH):
        return Homepage(None, CheckOutcome.EMPTY, "a page without any text or link", decoding)
    return Homepage(page, None, None, decoding)


def visible_text(page: TextResponse) -> str:
    parts = page.selector.xpath("//body//text()[not(ancestor::script)][not(ancestor::style)]").getall()
    return " ".join(" ".join(parts).split())


def wall_of(page: TextResponse, text: str | None = None, links: int | None = None) -> PageState | None:
    """A login or verification page served in place of this one (spiders/pagestate.classify_wall)."""
    sel = page.selector
    return classify_wall(
        visible_text(page) if text is None else text,
        page.url,
        redirected=bool(page.meta.get("redirect_urls")) if page.request is not None else False,
        links=len(sel.xpath("//a[@href]")) if links is None else links,
        has_password=bool(sel.xpath("//input[translate(@type, 'PASWORD', 'pasword')='password']")),
        has_textarea=bool(sel.xpath("//textarea")),
    )
