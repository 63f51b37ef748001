"""crawler/middlewares.py: Retry-After waits, block detection, secret masking."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.utils import format_datetime

import pytest
from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from core.clock import now
from crawler.middlewares import (
    RetryAfterMiddleware,
    SecretFilter,
    block_reason,
    retry_after_seconds,
    secret_values,
)


def make_mw(**settings: object) -> RetryAfterMiddleware:
    crawler = get_crawler(Spider, {"RETRY_TIMES": 2, "MONITOR_RETRY_BACKOFF_BASE": 0.5, **settings})
    crawler.spider = Spider.from_crawler(crawler, "t")
    return RetryAfterMiddleware.from_crawler(crawler)


def test_retry_after_forms() -> None:
    assert retry_after_seconds(b"7", default=1.0) == 7.0
    later = format_datetime(now() + timedelta(seconds=30), usegmt=False)
    assert 25 <= retry_after_seconds(later, default=1.0) <= 31
    assert retry_after_seconds(None, default=1.5) == 1.5
    assert retry_after_seconds("soon", default=2.0) == 2.0


def test_wait_honours_retry_after_capped_else_backs_off() -> None:
    mw = make_mw(MONITOR_RETRY_AFTER_MAX=60.0)
    req = Request("https://m.weibo.cn/api/container/getIndex")
    r429 = HtmlResponse(req.url, status=429, headers={"Retry-After": "12"}, request=req)
    assert mw.wait_for(req, r429) == 12.0
    r503 = HtmlResponse(req.url, status=503, headers={"Retry-After": "3600"}, request=req)
    assert mw.wait_for(req, r503) == 60.0  # capped
    r502 = HtmlResponse(req.url, status=502, request=req)
    assert mw.wait_for(req, r502) == 0.5
    req2 = req.replace(meta={"retry_times": 2})
    assert mw.wait_for(req2, HtmlResponse(req.url, status=502, request=req2)) == 2.0  # 0.5 * 2**2


def test_429_without_a_wait_is_retried_at_once() -> None:
    mw = make_mw(MONITOR_RETRY_AFTER_MAX=0.0)
    req = Request("https://weixin.sogou.com/weixin?type=1&query=x")
    resp = HtmlResponse(req.url, status=429, headers={"Retry-After": "1"}, request=req)
    retried = mw.process_response(req, resp)
    assert isinstance(retried, Request)
    assert retried.meta["retry_times"] == 1
    assert mw.crawler.stats.get_value("monitor/retry_waits") is None  # the cap of 0 means no wait


@pytest.mark.parametrize(
    ("status", "url", "blocked"),
    [
        (418, "https://m.weibo.cn/api/container/getIndex", True),
        (432, "https://m.weibo.cn/api/container/getIndex", True),
        (200, "https://weixin.sogou.com/antispider/?from=%2Fweixin", True),
        (200, "https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?x=1", True),
        (200, "https://m.weibo.cn/api/container/getIndex", False),
        (404, "https://mp.weixin.qq.com/s?__biz=x", False),
    ],
)
def test_block_reason(status: int, url: str, blocked: bool) -> None:
    assert (block_reason(HtmlResponse(url, status=status)) is not None) is blocked


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_WECHAT_TOKEN", "987654321")
    monkeypatch.setenv("MONITOR_WECHAT_COOKIE", "slave_user=gh_x; slave_sid=c2VjcmV0LXNpZA==")
    secrets = secret_values()
    assert "c2VjcmV0LXNpZA==" in secrets
    flt = SecretFilter(secrets)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "GET %s", ("/cgi?token=987654321",), None)
    assert flt.filter(record)
    assert record.getMessage() == "GET /cgi?token=***"
