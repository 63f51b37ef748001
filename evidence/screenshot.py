"""Screenshots through headless Chromium (Playwright, sync API): one browser for a whole capture run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from core.config import EvidenceConfig, browser_problem


@dataclass(frozen=True)
class Shot:
    png: bytes | None
    error: str | None = None


VIEWPORT_HEIGHT = 900


class Screenshotter:
    """Opens each URL in a fresh page (cookies cleared) and photographs it, at most
    ``screenshot_max_height`` pixels tall."""

    def __init__(self, browser: Any, config: EvidenceConfig) -> None:
        self.config = config
        self.context = browser.new_context(
            viewport={"width": config.screenshot_width, "height": VIEWPORT_HEIGHT},
            user_agent=config.user_agent,
            accept_downloads=False,
        )

    def shoot(self, url: str, *, max_bytes: int) -> Shot:
        self.context.clear_cookies()
        page = self.context.new_page()
        try:
            page.goto(url, timeout=self.config.timeout_s * 1000, wait_until="load")
            height = min(
                int(page.evaluate(f"document.documentElement.scrollHeight || {VIEWPORT_HEIGHT}")),
                self.config.screenshot_max_height,
            )
            clip = {"x": 0, "y": 0, "width": self.config.screenshot_width, "height": max(height, 1)}
            png = page.screenshot(full_page=True, clip=clip)
            if len(png) > max_bytes and height > VIEWPORT_HEIGHT:
                png = page.screenshot(full_page=False)  # the first screenful, if the whole page is too big
            if len(png) > max_bytes:
                return Shot(None, f"screenshot larger than {max_bytes} bytes")
            return Shot(png)
        except Exception as exc:  # any page failure is recorded against this capture, never the run
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            return Shot(None, f"{type(exc).__name__}: {first_line}"[:300])
        finally:
            page.close()


@contextmanager
def screenshotter(config: EvidenceConfig) -> Iterator[Screenshotter | None]:
    """A Screenshotter, or None when screenshots are off or Chromium cannot start here."""
    if not config.screenshots or browser_problem(config.chromium):
        yield None
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=config.chromium, headless=True, args=list(config.chromium_args)
        )
        try:
            yield Screenshotter(browser, config)
        finally:
            browser.close()
