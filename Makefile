# clicktrack: `make run` and `make test` are the whole set-up (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format migrate demo bench clean-db reliability

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

# A development server with the processing worker and the scheduler (reports, alerts) beside it,
# stopped with the server; e-mails print to this console. On an empty database it first loads
# demo data and the user demo/demo.
run: export DEBUG ?= true
run: migrate
	$(BIN)/python manage.py create_demo_user
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py run_worker & worker=$$!; \
	$(BIN)/python manage.py procrastinate worker & scheduler=$$!; \
	trap 'kill $$worker $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

demo: migrate
	$(BIN)/python manage.py seed_demo

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Soak, PostgreSQL-outage, kill -9 and abuse runs against gunicorn and the processing worker on
# a scratch database (see RELIABILITY.md); RELIABILITY_ARGS=--quick for short runs (~4 min).
reliability: install
	$(BIN)/python bench/reliability.py $(RELIABILITY_ARGS)

# Dashboard API latency, CSV export, storage, webhook intake and freshness on a scratch database
# under var/bench (see BENCHMARKS.md); BENCH_CLICKS=10000000 for 10M clicks, BENCH_ARGS=--keep
# to keep the data, BENCH_ARGS=--compare-servers for the web server comparison. The intake pass
# needs wrk (installed here when missing), the comparison uvicorn (the bench extra).
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	@touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	BENCH_CLICKS=$(BENCH_CLICKS) $(BIN)/python bench/run.py $(BENCH_ARGS)
