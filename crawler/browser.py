"""`python -m crawler.browser`: find a Chromium for the JavaScript-only pages, or say exactly what to install.

`make install` runs it: the system Chromium (/usr/bin/chromium or $MONITOR_CHROMIUM), else
`playwright install chromium` where downloads work, else a message. A missing browser does not fail the
install: the crawl records those pages as no_browser (a crawler-side problem) and the browser tests skip.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys

from core.config import find_chromium

ADVICE = (
    "No Chromium found. Install Debian's: `apt-get install chromium`\n"
    "(or point MONITOR_CHROMIUM at a Chrome/Chromium executable).\n"
    "Until then, pages that need JavaScript are recorded as no_browser (a crawler-side problem, never a\n"
    "finding on the target), and the browser tests of `make test` are skipped."
)


def main(argv: list[str] | None = None) -> int:
    found = find_chromium()
    if found is None and "--install" in (sys.argv[1:] if argv is None else argv):
        print("No system Chromium; trying `playwright install chromium`…", file=sys.stderr, flush=True)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                [sys.executable, "-m", "playwright", "install", "chromium"],
                check=False,
                timeout=600,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        found = find_chromium()
    if found is None:
        print(ADVICE, file=sys.stderr)
        return 0
    print(f"Chromium: {found}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
