# QRAP developer commands. Targets create .venv and install into it when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export QRAP_DB_HOST ?= 127.0.0.1
export QRAP_REDIS_URL ?= redis://127.0.0.1:6379/0
# Each test process takes its own database and one of Redis databases 8-15 (tests/conftest.py).
TEST_JOBS ?= 2

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

test: $(STAMP) test-deps reliability-deps ## the whole suite, fault suite included (needs PostgreSQL and Redis on 127.0.0.1)
	$(BIN)/pytest -q

test-fast: $(STAMP) test-deps ## all but the fault suite and integration tests, TEST_JOBS=2 processes (xdist)
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile -m "not reliability and not integration"

test-reliability: $(STAMP) reliability-deps ## the fault suite alone (docs/reliability.md T1-T13, T19, T20) and its summary
	$(BIN)/pytest -q -m reliability tests/reliability

validate-deploy: $(STAMP) test-deps ## validate docker/, k8s/ and deploy/ offline; backup/restore, proxies and PgBouncer on 127.0.0.1
	$(BIN)/pytest -q -p no:cacheprovider tests/deploy

reliability-deps: ## what the fault suite starts privately: redis-server and PostgreSQL server binaries
	@command -v redis-server >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql)

test-deps: ## system tools the tests start (openssl s_server, OpenSSH sshd, nginx, Caddy, PgBouncer, Chromium)
	@test -x /usr/bin/openssl -a -x /usr/sbin/sshd -a -x /usr/sbin/nginx -a -x /usr/bin/caddy \
		-a -x /usr/sbin/pgbouncer -a -x /usr/bin/chromium || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		openssl openssh-server nginx caddy pgbouncer chromium)

SCREENSHOTS := docs/screenshots
screenshots: $(STAMP) test-deps ## regenerate the dashboard screenshots the README shows (docs/screenshots)
	rm -rf $(SCREENSHOTS)/.run && mkdir -p $(SCREENSHOTS)/.run
	QRAP_UI_ARTIFACTS=$(SCREENSHOTS)/.run $(BIN)/pytest -q -p no:cacheprovider tests/ui/test_browser.py
	cp $(SCREENSHOTS)/.run/02-overview.png $(SCREENSHOTS)/overview.png
	cp $(SCREENSHOTS)/.run/04-assessment.png $(SCREENSHOTS)/assessment.png
	cp $(SCREENSHOTS)/.run/08-hndl.png $(SCREENSHOTS)/hndl.png
	rm -rf $(SCREENSHOTS)/.run

bench: $(STAMP) test-deps bench-deps ## figures a-f into bench/results/latest.json (PARTS=a,e for some, PROFILE=1 for py-spy; bench/README.md)
	$(BIN)/python bench/run.py $(if $(PARTS),--parts $(PARTS)) $(if $(PROFILE),--profile bench/results/profiles)

bench-discovery: $(STAMP) test-deps bench-deps ## discovery alone: QRAP vs sslyze on N local TLS servers (N=200)
	$(BIN)/python bench/discovery.py --n $${N:-200}

bench-deps: ## what make bench starts besides QRAP: wrk (Debian) and sslyze in .venv-bench
	@command -v wrk >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk) || \
		echo "wrk not installed: a_submit uses bench/parts/loadgen.py instead"
	@test -x .venv-bench/bin/python || ($(PYTHON) -m venv .venv-bench && \
		.venv-bench/bin/pip install --quiet sslyze)

audit: $(STAMP) ## known vulnerabilities in the installed packages (pip-audit; exceptions in pip-audit-ignore.txt)
	$(BIN)/python scripts/audit.py

docs-env: $(STAMP) ## regenerate the environment variable table in docs/deployment.md from the settings
	$(BIN)/python scripts/env_table.py --write

lint: $(STAMP) ## ruff, formatting and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP) ## format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP) ## apply migrations to the configured database (QRAP_DATABASE_URL or QRAP_DB_*; createdb it first)
	$(BIN)/alembic upgrade heads

migration: $(STAMP) ## new migration: make migration m="what it does"
	$(BIN)/alembic revision --autogenerate -m "$(m)"

check: lint test ## lint, tests and alembic check
	$(BIN)/alembic check

up: $(STAMP) migrate ## API, worker, beat and Flower in the foreground (Ctrl-C or TERM stops all; shared defaults: README)
	BIN=$(BIN) scripts/up.sh

clean: ## remove caches (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build *.egg-info

.PHONY: help install demo test test-fast test-reliability validate-deploy reliability-deps test-deps screenshots bench bench-discovery bench-deps audit docs-env lint fmt migrate migration check up clean
