# The two commands: `make run` (demo on SQLite, no Redis) and `make test` (full suite on PostgreSQL + Redis).
SHELL := /bin/bash
PY ?= python3
# uv from PATH, else a pinned copy bootstrapped into .tools/ with nothing but python3.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/checkout
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test install install-dev services browser-deps lint bench

.tools/bin/uv:
	$(PY) -m venv .tools
	.tools/bin/pip install --quiet "uv==0.13.9"

install: $(UV)
	$(UV) sync --frozen --no-dev

install-dev: $(UV)
	$(UV) sync --frozen

## run: install, migrate SQLite, seed the demo merchant, print key + curl, serve on 127.0.0.1:8000
run: $(UV)
	$(UV) sync --frozen
	DEBUG=true $(UV) run python manage.py migrate --noinput
	DEBUG=true $(UV) run python manage.py seed_demo --superuser --banner
	DEBUG=true PAYMENTS_AUTO_SETTLE=false $(UV) run python manage.py runserver 127.0.0.1:8000

## services: start PostgreSQL and Redis if they are down
services:
	@bash scripts/services.sh

## browser-deps: Debian's Chromium for the real-browser tests
browser-deps:
	@bash scripts/browser-deps.sh

## test: install, start services, run every test against PostgreSQL and Redis
test: $(UV) services browser-deps
	$(UV) sync --frozen
	$(UV) run ruff check .
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(UV) run python manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(UV) run pytest

lint: $(UV)
	$(UV) run ruff check .
