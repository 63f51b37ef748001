"""Fetch a page over HTTP for the record: the body byte for byte (cut at a size), its status and type."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from evidence.pages import is_http_url


@dataclass(frozen=True)
class Fetched:
    url: str
    final_url: str | None = None
    status: int | None = None
    content_type: str | None = None
    body: bytes = b""
    truncated: bool = False
    error: str | None = None

    @property
    def is_html(self) -> bool:
        media = (self.content_type or "").split(";")[0].strip().lower()
        return media in ("text/html", "application/xhtml+xml")


class _NoFileRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only: a page may not send the capture to file:// or ftp://."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if not is_http_url(newurl):
            raise urllib.error.HTTPError(newurl, code, f"redirect to a non-http URL: {newurl}", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_NoFileRedirects())


def _read(resp: Any, max_bytes: int) -> tuple[bytes, bool]:
    body = resp.read(max_bytes + 1)
    return body[:max_bytes], len(body) > max_bytes


def fetch_page(url: str, *, max_bytes: int, timeout_s: float, user_agent: str) -> Fetched:
    """GET ``url``; an error page (404, 500…) is kept with its status, a network failure as an error."""
    if not is_http_url(url):
        return Fetched(url, error="not an http(s) URL")
    request = urllib.request.Request(url, headers={"User-Agent": user_agent, "Accept": "*/*"})
    try:
        with _OPENER.open(request, timeout=timeout_s) as resp:
            body, truncated = _read(resp, max_bytes)
            return Fetched(url, resp.geturl(), resp.status, resp.headers.get("Content-Type"), body, truncated)
    except urllib.error.HTTPError as exc:
        body, truncated = _read(exc, max_bytes) if exc.fp is not None else (b"", False)
        content_type = exc.headers.get("Content-Type") if exc.headers else None
        return Fetched(url, exc.geturl(), exc.code, content_type, body, truncated, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Fetched(url, error=f"{type(reason).__name__}: {reason}"[:300])
