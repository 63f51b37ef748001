"""WeChat official accounts: article pages, the MP platform's list endpoint, Sogou search, URL lists."""

from spiders.base import SourceError
from spiders.wechat.article import Article, article_to_post, parse_article_page, script_var, url_post_id
from spiders.wechat.mp import listed_to_post, parse_publish_page, redact
from spiders.wechat.sogou import parse_sogou_accounts
from spiders.wechat.spider import WechatSpider, wechat_mode

__all__ = [
    "Article",
    "SourceError",
    "WechatSpider",
    "article_to_post",
    "listed_to_post",
    "parse_article_page",
    "parse_publish_page",
    "parse_sogou_accounts",
    "redact",
    "script_var",
    "url_post_id",
    "wechat_mode",
]
