"""Distributed mode (MONITOR_REDIS_URL): workers share one crawl through Redis; one store process writes.

A *store* process (`scrapy store <spider>`) owns the run: it reads the targets from the database, puts
one seed per target in Redis, drains the workers' items through the normal pipelines (normalize → store
→ detect) and finishes the run when the crawl has drained. *Workers* (`scrapy worker <spider>`, on any
machine that reaches Redis) lease seeds and crawl each target whole, locally. See docs/distributed.md.
"""
