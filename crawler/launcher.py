"""`govmedia`: Scrapy's command line with this project's settings, from any folder.

An installed project has no scrapy.cfg beside the user; naming the settings module is what makes
`crawlall`, `detect` and `import-targets` known there (a scrapy.cfg in the current folder still wins).
"""

from __future__ import annotations

import os
import sys

from scrapy.cmdline import execute


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    execute(["govmedia", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
