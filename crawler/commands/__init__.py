"""Custom scrapy commands: import-targets, and the ones later stages add (detect...)."""
