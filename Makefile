# The two commands: `make run` (demo on SQLite, no Redis) and `make test` (full suite on PostgreSQL + Redis).
SHELL := /bin/bash
PY ?= python3
# uv from PATH, else a pinned copy bootstrapped into .tools/ with nothing but python3.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/checkout
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# pytest-xdist workers (each has its own test_<name>_gwN database and Redis key prefix); 0 = one process.
TEST_WORKERS ?= auto
# Where PYTHONDONTWRITEBYTECODE is set, every process (each xdist worker, each server a test
# starts) compiles Django and the test modules from source again: most of the collection time.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test install install-dev services browser-deps topology-deps topology topology-stop lint bench screenshots

.tools/bin/uv:
	$(PY) -m venv .tools
	.tools/bin/pip install --quiet "uv==0.13.9"

install: $(UV)
	$(UV) sync --frozen --no-dev

install-dev: $(UV)
	$(UV) sync --frozen

## run: install (no dev tools), migrate SQLite, seed the demo merchant, print its key, ids and a curl,
## serve on 127.0.0.1:$(PORT) (`make run PORT=8001`). --inexact: dev tools already there (after
## `make test`) stay, so switching between the two commands reinstalls nothing.
run: $(UV)
	$(UV) sync --frozen --no-dev --inexact
	PORT=$(PORT) bash scripts/demo.sh

## services: start PostgreSQL and Redis if they are down; create TEST_DATABASE_URL's database if missing
services:
	@TEST_DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) bash scripts/services.sh

## browser-deps: Debian's Chromium for the real-browser tests
browser-deps:
	@bash scripts/browser-deps.sh

## topology-deps: Debian's nginx, PgBouncer and pg_partman for the reference topology and its test
topology-deps:
	@bash scripts/topology-deps.sh

## topology: the reference topology on loopback (nginx, two web nodes, PgBouncer, primary + streaming
## replica, Redis, two workers, two beats; scripts/topology.py, docs/scaling.md), ports 18000-18030
## (TOPOLOGY_PORT_BASE). topology-stop ends only what it started; PURGE=1 also deletes its data.
topology: $(UV) topology-deps
	$(UV) sync --frozen --no-dev --inexact
	$(UV) run --no-sync python scripts/topology.py start

topology-stop:
	$(UV) run --no-sync python scripts/topology.py stop $(if $(PURGE),--purge)

## test: install, start services, run every test against PostgreSQL and Redis; the ten slowest are listed
test: $(UV) services browser-deps topology-deps
	$(UV) sync --frozen
	$(UV) run --no-sync ruff check .
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(UV) run --no-sync python manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(UV) run --no-sync pytest -n $(TEST_WORKERS) --durations=10

## screenshots: the real-browser tests, saving their screenshots into docs/screenshots (make test keeps them out of the tree)
screenshots: $(UV) services browser-deps
	$(UV) sync --frozen
	SCREENSHOT_DIR=docs/screenshots DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(UV) run --no-sync pytest -n $(TEST_WORKERS) tests/browser

lint: $(UV)
	$(UV) run ruff check .
