"""A portal's identity as its pages state it: SiteName/SiteDomain/SiteIDCode, footer records, CMS, charset."""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsel import Selector
from scrapy.http import HtmlResponse, Response, TextResponse

from core.text import clean_text
from spiders.charset import Decoding, declared_encoding, decode_by_evidence

SITE_ID_CODE = re.compile(r"^(\d{10}|bm\d{8})$")
FOOTER_ID_CODE = re.compile(r"网站标识码\s*[：:]?\s*([A-Za-z0-9]+)")
FOOTER_ICP = re.compile(r"([\u4e00-\u9fa5]\s*ICP\s*备\s*[\d\s]+号(?:\s*-\s*\d+)?)")
FOOTER_POLICE = re.compile(r"([\u4e00-\u9fa5]\s*公网安备\s*[\d\s]+号?)")
FOOTER_ORGANIZER = re.compile(r"主办(?:单位)?\s*[：:]\s*([^\s|｜，,。<]+)")


@dataclass
class SiteMeta:
    site_name: str | None
    site_domain: str | None
    site_id_code: str | None
    site_id_code_valid: int
    icp: str | None
    police_record: str | None
    organizer: str | None
    footer_id_code: str | None


def meta_content(sel: Selector, name: str) -> str | None:
    value = sel.xpath(
        f"//meta[translate(@name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
        f"='{name.lower()}']/@content"
    ).get()
    return clean_text(value) or None


def is_valid_site_id_code(code: str | None) -> bool:
    return bool(code) and bool(SITE_ID_CODE.match(code or ""))


def parse_site_meta(sel: Selector) -> SiteMeta:
    """SiteName/SiteDomain/SiteIDCode meta and the footer's 网站标识码, ICP, 公安备案 and 主办单位."""
    footer = " ".join(sel.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]").getall())
    footer = re.sub(r"\s+", " ", footer)

    def find(pattern: re.Pattern[str]) -> str | None:
        m = pattern.search(footer)
        return re.sub(r"\s+", "", m.group(1)) if m else None

    footer_code = find(FOOTER_ID_CODE)
    code = meta_content(sel, "SiteIDCode") or footer_code
    # A template copied from another site shows up as meta and footer disagreeing.
    valid = is_valid_site_id_code(code) and (footer_code is None or footer_code == code)
    return SiteMeta(
        site_name=meta_content(sel, "SiteName"),
        site_domain=meta_content(sel, "SiteDomain"),
        site_id_code=code,
        site_id_code_valid=int(valid),
        icp=find(FOOTER_ICP),
        police_record=find(FOOTER_POLICE),
        organizer=find(FOOTER_ORGANIZER),
        footer_id_code=footer_code,
    )


def detect_cms(text: str, url: str = "") -> str:
    """The CMS family the page shows (markup and URL habits), or 'other'."""
    if "<datastore>" in text or "/module/web/jpage/" in text or re.search(r"/col/col\d+/", url + text):
        return "hanweb"
    if "createPageHTML" in text or re.search(r"var\s+countPage\s*=", text) or "TRS_Editor" in text:
        return "trs"
    if re.search(r"/t\d{8}_\d+\.s?html", text):
        return "trs"
    return "other"


def page_decoding(response: Response) -> Decoding:
    """How the page's bytes decode: the declared charset against the evidence (spiders/charset.py)."""
    body = response.body
    return decode_by_evidence(body, declared_encoding(response.headers.get("Content-Type"), body))


def ensure_encoding(response: Response, decoding: Decoding | None = None) -> TextResponse:
    """A text response decoded by evidence: valid UTF-8, else the declared charset, else GB18030 (a GBK
    page declared UTF-8 and a UTF-8 page declared GBK both read right)."""
    if not isinstance(response, TextResponse):
        response = HtmlResponse(
            url=response.url,
            body=response.body,
            headers=response.headers,
            request=response.request,
            status=response.status,
        )
    decoding = decoding or page_decoding(response)
    encoding = decoding.encoding or decoding.declared or "utf-8"
    return response.replace(encoding=encoding)  # type: ignore[return-value]
