"""JSON answers as platform APIs send them: decoded by evidence, unwrapped from a rendered page, and a
login or verification page in their place told from a broken answer."""

from __future__ import annotations

import json
from typing import Any

from parsel import Selector
from scrapy.http import Response

from core.enums import CheckOutcome
from spiders.base import SourceError
from spiders.charset import declared_encoding, decode_by_evidence
from spiders.pagestate import classify_page_state, classify_wall


def read_json(response: Response) -> Any:
    """The decoded JSON of an API answer, or SourceError: empty, a wall (blocked / login_required),
    or not JSON (malformed). JSON is UTF-8 whatever the header says; a GBK body is read as GBK."""
    body = response.body
    if not body.strip():
        raise SourceError(CheckOutcome.EMPTY, "empty answer where JSON was expected")
    decoding = decode_by_evidence(body, declared_encoding(response.headers.get("Content-Type"), body))
    text = body.decode(decoding.encoding or "utf-8", "replace").strip().lstrip("\ufeff")
    if text.startswith("<"):
        sel = Selector(text=text)
        # Rendered in Chromium (render: js): the browser wraps a JSON answer in <pre>.
        wrapped = "".join(sel.css("pre::text").getall()).strip()
        if not wrapped.startswith(("{", "[")):
            visible = " ".join(" ".join(sel.xpath("//body//text()[not(ancestor::script)]").getall()).split())
            state = classify_page_state(visible, response.url) or classify_wall(
                visible,
                response.url,
                redirected=bool(response.request and response.meta.get("redirect_urls")),
                links=len(sel.xpath("//a[@href]")),
                has_password=bool(sel.xpath("//input[@type='password']")),
            )
            if state is not None:
                raise SourceError(state.outcome, f"a page in place of the JSON answer: {state.reason}")
            wrapped = "".join(sel.css("body ::text").getall())
        text = wrapped
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SourceError(CheckOutcome.MALFORMED, f"not JSON: {str(exc)[:200]}") from exc
