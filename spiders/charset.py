"""Which codec a page's bytes are in, decided by evidence: what was declared against what decodes cleanly.

Portals get their charset wrong both ways: GBK bytes under ``charset=utf-8`` (a template copied from a
newer site), UTF-8 bytes under ``gb2312`` (a page moved to a new CMS that kept the old header). Read
with the declared codec, every Chinese date (2024年6月5日) turns to mojibake and the page looks undated.
UTF-8 is self-checking — GBK text of any length is practically never valid UTF-8 — so bytes that are
valid UTF-8 are UTF-8 whatever the label says; otherwise the declared codec if it decodes (and can
write Chinese at all), else GB18030 (the superset of GB2312 and GBK). Bytes that none of these decode
are garbled: not a readable page.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, resolve_encoding

# Undecodable bytes tolerated in a page that is otherwise clean (a character cut by the server, a stray
# byte in a footer); above this share the page is garbled.
MAX_BAD_SHARE = 0.005
BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class Decoding:
    encoding: str | None  # the codec to read the page with; None: garbled, no codec reads it
    declared: str | None  # what the Content-Type header or the page's <meta> said (normalised)
    bad_share: float = 0.0  # share of undecodable bytes under ``encoding`` (or under the best codec)

    @property
    def is_garbled(self) -> bool:
        return self.encoding is None

    @property
    def overrides_declaration(self) -> bool:
        """The bytes are not in the codec the page declared (a charset mistake of the site)."""
        return self.encoding is not None and self.declared is not None and self.encoding != self.declared

    def describe(self) -> str:
        """The encoding as stored with the site: the codec, and what was declared when that was wrong."""
        if self.encoding is None:
            return f"garbled (declared {self.declared or 'nothing'})"
        if self.overrides_declaration:
            return f"{self.encoding} (declared {self.declared})"
        return self.encoding


def _normalise(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name)
    if resolved is None:
        return None
    try:
        return codecs.lookup(resolved).name
    except LookupError:
        return None


def _bad_share(body: bytes, encoding: str) -> float:
    """Share of the body's bytes that ``encoding`` cannot decode (1.0 for a codec that fails outright)."""
    try:
        text = body.decode(encoding, "replace")
    except (LookupError, ValueError):
        return 1.0
    return text.count("\ufffd") / max(len(body), 1)


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError, ValueError):
        return False
    return True


def _writes_chinese(encoding: str) -> bool:
    try:
        "政府".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def declared_encoding(content_type: str | bytes | None, body: bytes) -> str | None:
    """The charset the answer declares: the Content-Type header first, then the page's <meta>."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    declared = http_content_type_encoding(content_type or "") or html_body_declared_encoding(body[:4096])
    return _normalise(declared)


def decode_by_evidence(body: bytes, declared: str | None) -> Decoding:
    """The codec that reads ``body``: a BOM, valid UTF-8, the declared codec, GB18030 — in that order."""
    declared = _normalise(declared)
    for bom, encoding in BOMS:
        if body.startswith(bom):
            return Decoding(encoding, declared)
    if body.isascii():
        return Decoding(declared if declared and _decodes(body, declared) else "utf-8", declared)
    if _decodes(body, "utf-8"):
        return Decoding("utf-8", declared)
    # A single-byte label (latin-1, cp1252) on a Chinese site is a mistake: GB18030 is tried before it.
    order = (declared, "gb18030") if declared and _writes_chinese(declared) else ("gb18030", declared)
    candidates = [c for c in dict.fromkeys(order) if c and c != "utf-8"]
    for encoding in candidates:
        if _decodes(body, encoding):
            return Decoding(encoding, declared)
    shares = {c: _bad_share(body, c) for c in dict.fromkeys([*candidates, "utf-8"])}
    best = min(shares, key=lambda c: shares[c])
    if shares[best] <= MAX_BAD_SHARE:
        return Decoding(best, declared, round(shares[best], 4))
    return Decoding(None, declared, round(shares[best], 4))


def response_text(response: Any) -> str:
    """A response's body as text decoded by evidence (a TextResponse's ``.text`` trusts the label)."""
    body = response.body
    decoding = decode_by_evidence(body, declared_encoding(response.headers.get("Content-Type"), body))
    return str(body.decode(decoding.encoding or "utf-8", "replace"))
