"""Detection rules as pure functions (no Scrapy, no SQL); thresholds live in indicators.yaml."""
