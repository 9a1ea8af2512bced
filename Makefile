# Everything a fresh machine needs comes from requirements.lock (pinned, hashed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-from-lock

.PHONY: demo test lint check install rehearsal bench

install: $(INSTALLED)

$(INSTALLED): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $@

## Serve Atrium with demo data on http://127.0.0.1:$(PORT) (admin at /admin/, the live event
## stream at /api/v1/events/stream); `make demo PORT=8001`.
PORT ?= 8000
demo: $(INSTALLED)
	$(PY) manage.py ensure_database
	$(PY) manage.py migrate --noinput
	$(PY) manage.py sync_permissions
	$(PY) manage.py seed_demo
	@# The background worker beside the server (emails, webhooks, purges); Ctrl-C stops both.
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)} $(PY) manage.py run_worker &
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)} \
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.dev} \
	$(VENV)/bin/uvicorn config.asgi:application --host 127.0.0.1 --port $(PORT) \
		--timeout-graceful-shutdown 2

## The whole test suite, against the real PostgreSQL.
test: $(INSTALLED)
	$(PY) manage.py ensure_database --server-only
	$(PY) -m pytest

## The scale-out rehearsal (docs/deployment.md): a primary, a pg_basebackup standby, PgBouncer
## and two gunicorn processes on production settings, started here, every cross-process
## invariant checked (one line each), everything torn down; non-zero if one fails. Ports:
## `make rehearsal REHEARSAL_PORTS=5480,6450,8170` (primary, PgBouncer, first app process).
rehearsal: $(INSTALLED)
	$(PY) -m rehearsal $(if $(REHEARSAL_PORTS),--ports $(REHEARSAL_PORTS))

## Style, the layer rules (import contracts in pyproject.toml) and types.
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

## Every benchmark in turn under the bench lock, one table in bench/results.md
## (docs/performance.md); `make bench BENCH_ARGS="documents billing --rounds 1"`.
BENCH_ARGS ?= all
bench: $(INSTALLED)
	$(PY) bench/run.py $(BENCH_ARGS)

## What CI runs: lint, then the README's test command.
check: lint test
