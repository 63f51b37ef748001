"""govmedia-monitor: the Scrapy project package (settings, items, commands, targets, demo world)."""
