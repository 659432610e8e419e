# QRAP developer commands. Targets create .venv and install into it when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export QRAP_DB_HOST ?= 127.0.0.1
export QRAP_REDIS_URL ?= redis://127.0.0.1:6379/0

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install QRAP with its dev tools

demo: $(STAMP) ## assess the bundled examples and a local TLS server (embedded SQLite, no services)
	$(BIN)/qrap demo

test: $(STAMP) test-deps ## the whole suite (needs PostgreSQL and Redis on 127.0.0.1)
	$(BIN)/pytest -q

test-deps: ## system tools the tests start (openssl)
	@command -v openssl >/dev/null || (apt-get update -qq && apt-get install -y -qq openssl)

lint: $(STAMP) ## ruff, formatting and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP) ## format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP) ## apply migrations to the configured database (QRAP_DATABASE_URL or QRAP_DB_*)
	$(BIN)/alembic upgrade heads

migration: $(STAMP) ## new migration: make migration m="what it does"
	$(BIN)/alembic revision --autogenerate -m "$(m)"

check: lint test ## lint, tests and alembic check
	$(BIN)/alembic check

up: $(STAMP) migrate ## API, worker, beat and Flower in the foreground (Ctrl-C stops all)
	BIN=$(BIN) scripts/up.sh

clean: ## remove caches (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build *.egg-info

.PHONY: help install demo test test-deps lint fmt migrate migration check up clean
