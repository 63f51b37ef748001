"""Screenshots through headless Chromium (Playwright, sync API): one browser for a whole capture run."""

from __future__ import annotations

import shutil
import subprocess
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


def cjk_font_problem() -> str | None:
    """Why screenshots of Chinese pages would show empty boxes here (no CJK font known to fontconfig)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None  # not a fontconfig system: nothing to say
    found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False)
    if found.stdout.strip():
        return None
    return "no Chinese font installed: screenshots will show boxes (apt-get install fonts-noto-cjk)"


class LazyScreenshots:
    """Starts Chromium on the first screenshot asked for (a run that only keeps feeds never starts it),
    and photographs each URL once per run (the homepage behind five dead links is one picture)."""

    def __init__(self, config: EvidenceConfig) -> None:
        self.config = config
        self.available = config.screenshots and browser_problem(config.chromium) is None
        self._playwright: Any = None
        self._browser: Any = None
        self._shooter: Screenshotter | None = None
        self._shots: dict[str, Shot] = {}

    def shoot(self, url: str, *, max_bytes: int) -> Shot | None:
        """The screenshot (or why there is none); None when screenshots are off or impossible here."""
        if not self.available:
            return None
        if url not in self._shots:
            if self._shooter is None:
                from playwright.sync_api import sync_playwright

                self._playwright = sync_playwright().start()
                self._browser = self._playwright.chromium.launch(
                    executable_path=self.config.chromium, headless=True, args=list(self.config.chromium_args)
                )
                self._shooter = Screenshotter(self._browser, self.config)
            self._shots[url] = self._shooter.shoot(url, max_bytes=max_bytes)
        return self._shots[url]

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


@contextmanager
def screenshots(config: EvidenceConfig) -> Iterator[LazyScreenshots]:
    shots = LazyScreenshots(config)
    try:
        yield shots
    finally:
        shots.close()
