"""Scrapy's own INFO chatter (components, overridden settings, versions, pages per minute, the stats dump)
is plumbing: below DEBUG only warnings and errors of those loggers are shown."""

from __future__ import annotations

import logging

# Loggers whose INFO lines are plumbing (components enabled, overridden settings, versions, pages per
# minute, the stats dump, the browser handler starting): shown at DEBUG only.
CHATTY_LOGGERS = ("scrapy", "scrapy-playwright", "py.warnings")


def quiet_chatty_loggers(level: str) -> None:
    """Below DEBUG, the chatty loggers say only warnings and errors. Called when the RunLog extension is
    built: after Scrapy's logging setup (which resets the scrapy logger), before components are listed."""
    if level.upper() != "DEBUG":
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
