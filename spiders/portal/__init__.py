"""Portal monitoring (政府网站): the spider, and the pure parsers of meta, columns, lists, boards, links."""

from spiders.portal.boards import (
    MessageRow,
    build_message,
    classify_board,
    parse_message_detail,
    parse_message_list,
)
from spiders.portal.columns import (
    DEFAULT_COLUMN_RULES,
    ColumnRef,
    ColumnRule,
    classify_column,
    discover_columns,
    load_column_rules,
)
from spiders.portal.links import absolute_url, extract_links, is_internal, site_root
from spiders.portal.lists import (
    ColumnPage,
    ListEntry,
    find_homepage_items,
    hanweb_entries,
    hanweb_page_urls,
    next_page_url,
    parse_article_date,
    parse_column_page,
    parse_list_date,
    trs_page_urls,
)
from spiders.portal.meta import SiteMeta, detect_cms, ensure_encoding, is_valid_site_id_code, parse_site_meta
from spiders.portal.spider import PortalSpider, probe_failure, probe_request

__all__ = [
    "DEFAULT_COLUMN_RULES",
    "ColumnPage",
    "ColumnRef",
    "ColumnRule",
    "ListEntry",
    "MessageRow",
    "PortalSpider",
    "SiteMeta",
    "absolute_url",
    "build_message",
    "classify_board",
    "classify_column",
    "detect_cms",
    "discover_columns",
    "ensure_encoding",
    "extract_links",
    "find_homepage_items",
    "hanweb_entries",
    "hanweb_page_urls",
    "is_internal",
    "is_valid_site_id_code",
    "load_column_rules",
    "next_page_url",
    "parse_article_date",
    "parse_column_page",
    "parse_list_date",
    "parse_message_detail",
    "parse_message_list",
    "parse_site_meta",
    "probe_failure",
    "probe_request",
    "site_root",
    "trs_page_urls",
]
