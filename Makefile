# govmedia-monitor — every target has a "## description"; `make help` lists them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DB ?= data/monitor.db
TARGETS ?=
DEMO_PORT ?= 8765
SERVE_PORT ?= 8001
SPIDERS ?= feed,portal,wechat,weibo
REDIS_PORT ?= 6379
REDIS_URL ?= redis://127.0.0.1:$(REDIS_PORT)/0
WORKERS ?= 2
comma := ,
export PYTHONDONTWRITEBYTECODE = 1

.DEFAULT_GOAL := help
.PHONY: help install demo import crawl serve test lint fmt typecheck bench faults clean redis workers

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv, install the dependencies, find a Chromium (idempotent)

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m crawler.browser --install
	touch $@

demo: install ## start the offline demo world, crawl it into data/demo/monitor.db, serve Datasette
	$(BIN)/python -m demo.run --port $(DEMO_PORT) --serve-port $(SERVE_PORT)

import: install ## import a targets registry: make import TARGETS=targets/mine.yaml
	@test -n "$(TARGETS)" || { echo "make import needs TARGETS=FILE, e.g. make import TARGETS=targets/mine.yaml" \
	  "(targets/example.yaml holds placeholders, not real accounts)" >&2; exit 2; }
	MONITOR_DB=$(DB) $(BIN)/scrapy import-targets $(TARGETS)

crawl: install ## every spider, then detection, alerts and one summary (scrapy crawlall; never twice at once)
	MONITOR_DB=$(DB) $(BIN)/scrapy crawlall --spiders $(SPIDERS)

redis: ## run a local redis-server for distributed mode on 127.0.0.1:$(REDIS_PORT) (foreground, no persistence)
	redis-server --port $(REDIS_PORT) --bind 127.0.0.1 --save '' --appendonly no

workers: install ## distributed crawl: one store + $(WORKERS) workers per spider (needs `make redis`)
	@set -e; for s in $(subst $(comma), ,$(SPIDERS)); do \
	  export MONITOR_DB=$(DB) MONITOR_REDIS_URL=$(REDIS_URL); \
	  $(BIN)/scrapy store $$s & \
	  for i in $$(seq $(WORKERS)); do $(BIN)/scrapy worker $$s & done; \
	  wait; done

serve: install ## serve $(DB) with Datasette on 127.0.0.1:$(SERVE_PORT)
	$(BIN)/python -m db.serve $(DB) --port $(SERVE_PORT)

test: install ## run the test suite (starts the demo world, Datasette, Chromium as needed)
	$(BIN)/pytest

lint: install ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install ## ruff autofix + format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install ## mypy on the packages
	$(BIN)/mypy

bench: install ## benchmark: bare Scrapy ceiling vs the real crawl on a generated world (bench/results.json)
	$(BIN)/python -m bench.run

faults: install ## fault campaign: hostile servers, kill -9, concurrent runs, fuzzed parsers and registries (docs/robustness.md)
	$(BIN)/python -m faults.campaign

clean: ## remove the venv, data/, caches, build output and what an interrupted bench left in the temp folder
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache .hypothesis test-artifacts bench/results*.json build *.egg-info
	rm -rf $${TMPDIR:-/tmp}/govmedia-bench-*
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
