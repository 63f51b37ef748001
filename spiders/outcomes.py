"""Classify what came back from a fetch (status code or network failure) into a CheckOutcome."""

from __future__ import annotations

from scrapy import exceptions as scrapy_exc
from twisted.internet import error as net
from twisted.python.failure import Failure

from core.enums import CheckOutcome


def outcome_for_status(status: int) -> CheckOutcome:
    if status == 304:
        return CheckOutcome.NOT_MODIFIED
    if 200 <= status < 400:
        return CheckOutcome.OK
    if status in (404, 410):
        return CheckOutcome.NOT_FOUND
    if status in (401, 407):
        return CheckOutcome.LOGIN_REQUIRED
    if status in (403, 412, 418, 429, 432):
        # 412 is the JS-challenge first answer; 418/432 are Weibo's refusals: blocked, not down.
        return CheckOutcome.BLOCKED
    if status >= 500:
        return CheckOutcome.SERVER_ERROR
    return CheckOutcome.HTTP_ERROR


class BrowserUnavailable(Exception):
    """A request that needs Chromium, on a machine where Chromium cannot start: the crawler's problem."""


# What Playwright says when the browser binary is missing or cannot be launched.
BROWSER_LAUNCH_MARKS = ("BrowserType.launch", "Executable doesn't exist", "Failed to launch")


def _scrapy(name: str) -> tuple[type[BaseException], ...]:
    exc = getattr(scrapy_exc, name, None)
    return (exc,) if isinstance(exc, type) else ()


# How Scrapy words the requests it gives up on: RedirectMiddleware past REDIRECT_MAX_TIMES, and
# HttpCompressionMiddleware when a compressed body expands past the request's download_maxsize.
REDIRECT_LOOP_MARK = "max redirections reached"
OVERSIZED_MARKS = ("DOWNLOAD_MAXSIZE", "download max size")


def outcome_for_failure(failure: Failure) -> tuple[CheckOutcome, str]:
    """The outcome and a short error text for a download failure."""
    exc = failure.value
    text = f"{type(exc).__name__}: {exc}".strip()[:500]
    if isinstance(exc, BrowserUnavailable) or any(mark in text for mark in BROWSER_LAUNCH_MARKS):
        return CheckOutcome.NO_BROWSER, text
    if isinstance(exc, scrapy_exc.IgnoreRequest) and REDIRECT_LOOP_MARK in text:
        return CheckOutcome.REDIRECT_LOOP, text
    # The handler cancels a body past download_maxsize (by Content-Length, or once that much arrived).
    if any(mark in text for mark in OVERSIZED_MARKS) or failure.check(*_scrapy("DownloadCancelledError")):
        return CheckOutcome.OVERSIZED, text
    # Scrapy >= 2.19 wraps Twisted's errors in its own Download* exceptions; older ones do not.
    if failure.check(net.DNSLookupError, *_scrapy("CannotResolveHostError")):
        return CheckOutcome.DNS_ERROR, text
    if failure.check(net.TimeoutError, net.TCPTimedOutError, *_scrapy("DownloadTimeoutError")):
        return CheckOutcome.TIMEOUT, text
    if failure.check(net.ConnectionRefusedError, *_scrapy("DownloadConnectionRefusedError")):
        return CheckOutcome.REFUSED, text
    name = type(exc).__name__
    if "SSL" in name or "TLS" in name or "Certificate" in name:
        return CheckOutcome.TLS_ERROR, text
    if "Timeout" in name:
        return CheckOutcome.TIMEOUT, text
    return CheckOutcome.CONNECTION_ERROR, text
