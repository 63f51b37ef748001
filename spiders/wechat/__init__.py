"""WeChat official accounts: article pages, the MP platform's list endpoint, Sogou search, the history
page, URL lists."""

from spiders.base import SourceError
from spiders.wechat.article import (
    Article,
    article_to_account,
    article_to_post,
    parse_article_page,
    script_var,
    url_post_id,
)
from spiders.wechat.history import parse_history_page
from spiders.wechat.mp import listed_to_post, parse_publish_page, redact
from spiders.wechat.sogou import parse_sogou_accounts, parse_sogou_articles
from spiders.wechat.spider import WechatSpider, wechat_mode

__all__ = [
    "Article",
    "SourceError",
    "WechatSpider",
    "article_to_account",
    "article_to_post",
    "listed_to_post",
    "parse_article_page",
    "parse_history_page",
    "parse_publish_page",
    "parse_sogou_accounts",
    "parse_sogou_articles",
    "redact",
    "script_var",
    "url_post_id",
    "wechat_mode",
]
