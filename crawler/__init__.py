"""govmedia-monitor's Scrapy shell: settings, middlewares, custom commands, targets registry."""
