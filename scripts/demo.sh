#!/usr/bin/env bash
# What `make run` serves once the dependencies are installed (without the dev tools): migrate the
# SQLite database, seed the demo merchant (idempotent), print its API key, ids and a curl, then
# serve on 127.0.0.1:$PORT. tests/test_readme.py runs this same script with a database of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8000}
PYTHON=${PYTHON:-.venv/bin/python}
export DEBUG=true PAYMENTS_AUTO_SETTLE=false PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}
$PYTHON manage.py migrate --noinput
$PYTHON manage.py seed_demo --superuser --banner
exec $PYTHON manage.py runserver "127.0.0.1:$PORT"
