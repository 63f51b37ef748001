"""Alert channels: Apprise URLs (WeCom, DingTalk, Feishu/Lark, mailto://, json://…), masked wherever shown.

A channel is known by a digest of its URL, so the database records what each channel was told without
ever storing a bot key or a password; logs and the desk only see the masked form.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)
# Path segments at least this long are taken to be tokens (webhook keys) and masked.
TOKEN_LENGTH = 12


@dataclass(frozen=True)
class Channel:
    url: str
    key: str  # sha256 of the URL, shortened: the channel's name in the notifications table
    masked: str


def _apprise() -> Any:
    # Imported when an alert is due: every scrapy command loads this module, few of them send.
    import apprise

    return apprise


def _mask_segment(segment: str) -> str:
    return f"{segment[0]}…{segment[-1]}" if len(segment) >= TOKEN_LENGTH else segment


def mask_url(url: str) -> str:
    """The URL without its secrets: Apprise's private form (passwords and keys shortened), token-like
    path segments shortened too, and no query string."""
    plugin = _apprise().Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return f"{urlsplit(url).scheme}://****"
    parts = urlsplit(plugin.url(privacy=True))
    path = "/".join(_mask_segment(s) for s in parts.path.split("/"))
    return f"{parts.scheme}://{parts.netloc}{path}"


def secrets_of(url: str) -> list[str]:
    """The parts of a URL that must not reach a log line."""
    parts = urlsplit(url)
    found = [url]
    if parts.password:
        found.append(unquote(parts.password))
    host = parts.netloc.rpartition("@")[2].split(":")[0]  # as written: urlsplit lower-cases hostname
    found += [s for s in [host, *parts.path.split("/")] if len(s) >= TOKEN_LENGTH]
    for pair in parts.query.split("&"):
        _, _, value = pair.partition("=")
        if len(value) >= 8:
            found.append(unquote(value))
    return [s for s in found if s]


class MaskSecrets(logging.Filter):
    """Replaces channel secrets in the records of Apprise's logger and ours."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        if any(s in message for s in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "****")
            record.msg, record.args = message, ()
        return True


def load_channels(urls: Iterable[str]) -> list[Channel]:
    """The channels of $MONITOR_NOTIFY; a URL Apprise cannot use is logged (masked) and left out."""
    channels = []
    urls = list(urls)
    mask = MaskSecrets(s for u in urls for s in secrets_of(u))
    for name in ("apprise", __name__, "alerts"):
        log = logging.getLogger(name)
        if not any(isinstance(f, MaskSecrets) for f in log.filters):
            log.addFilter(mask)
    for url in urls:
        if _apprise().Apprise.instantiate(url, suppress_exceptions=True) is None:
            logger.error("MONITOR_NOTIFY: %s is not a URL Apprise can send to; left out", mask_url(url))
            continue
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        channels.append(Channel(url, key, mask_url(url)))
    return channels


def send(channel: Channel, title: str, body: str) -> bool:
    """One message to one channel; False (logged) when it could not be delivered."""
    apprise = _apprise()
    sender = apprise.Apprise()
    sender.add(channel.url)
    ok = bool(sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))
    if ok:
        logger.info("alert sent to %s: %s", channel.masked, title)
    else:
        logger.error("alert to %s failed (it is sent again after the next run): %s", channel.masked, title)
    return ok
