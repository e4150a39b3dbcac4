#!/usr/bin/env bash
# Start PostgreSQL and Redis when they are not answering (CI machines start them; a fresh one may
# not), and create the database TEST_DATABASE_URL names if it is missing. Nothing else: on a shared
# machine the suite touches only TEST_DATABASE_URL (and pytest-django's test_<name>, test_<name>_gwN
# copies of it, dropped at the end) and TEST_REDIS_URL's database.
set -euo pipefail
: "${TEST_DATABASE_URL:?set TEST_DATABASE_URL (postgres://user@host:port/name)}"
: "${TEST_REDIS_URL:?set TEST_REDIS_URL (redis://host:port/db)}"

# The URLs' parts: the database's name, the same server's maintenance database (to create it),
# and the hosts and ports to probe.
read -r pg_name pg_maintenance pg_host pg_port redis_host redis_port < <(python3 - <<'EOF'
import os, sys
from urllib.parse import unquote, urlsplit
db, redis = urlsplit(os.environ["TEST_DATABASE_URL"]), urlsplit(os.environ["TEST_REDIS_URL"])
name = unquote(db.path.strip("/"))
if db.scheme not in ("postgres", "postgresql") or not name or not name.replace("_", "").isalnum():
    sys.exit(f"TEST_DATABASE_URL must be postgres://user@host:port/name (name: letters, digits, _), "
             f"not {os.environ['TEST_DATABASE_URL']!r}")
print(name, db._replace(path="/postgres").geturl(), db.hostname or "127.0.0.1", db.port or 5432,
      redis.hostname or "127.0.0.1", redis.port or 6379)
EOF
)
is_local() { [[ $1 == 127.0.0.1 || $1 == localhost || $1 == ::1 ]]; }

if ! pg_isready -d "$pg_maintenance" -q 2>/dev/null; then
  is_local "$pg_host" || { echo "PostgreSQL at $pg_host:$pg_port is not answering" >&2; exit 1; }
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 30); do pg_isready -d "$pg_maintenance" -q && break; sleep 1; done
fi
if ! redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null 2>&1; then
  is_local "$redis_host" || { echo "Redis at $redis_host:$redis_port is not answering" >&2; exit 1; }
  echo "starting Redis on port $redis_port"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 30); do redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

psql "$pg_maintenance" -tAc "SELECT 1 FROM pg_database WHERE datname = '$pg_name'" | grep -q 1 \
  || { echo "creating database $pg_name"; psql "$pg_maintenance" -qc "CREATE DATABASE \"$pg_name\""; }
