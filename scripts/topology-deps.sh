#!/usr/bin/env bash
# Debian's nginx, PgBouncer and pg_partman for the reference topology (`make topology`,
# tests/topology/). PostgreSQL 15 and Redis are already there for `make test` (scripts/services.sh).
# Installing never starts the packages' own services where policy-rc.d forbids it (containers);
# the topology starts its own processes on ports 18000-18999 either way (scripts/topology.py).
# On a shared machine another apt or dpkg may hold the lock: wait for it (up to 10 minutes a
# try), and try again twice if apt still fails (a mirror hiccup, a lock taken between two steps).
set -euo pipefail
packages=()
[[ -x /usr/sbin/nginx ]] || packages+=(nginx)
[[ -x /usr/sbin/pgbouncer ]] || packages+=(pgbouncer)
[[ -f /usr/share/postgresql/15/extension/pg_partman.control ]] || packages+=(postgresql-15-partman)
if [[ ${#packages[@]} -eq 0 ]]; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then echo "need root to apt-get install ${packages[*]}" >&2; exit 1; fi
echo "installing ${packages[*]}"
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="${APT_LOCK_TIMEOUT:-600}" "$@"; }
for attempt in 1 2 3; do
  if apt_get update -qq && apt_get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; then
    exit 0
  fi
  echo "apt-get failed (attempt $attempt of 3)" >&2
  [[ $attempt -lt 3 ]] && sleep $((attempt * 15))
done
exit 1
