#!/usr/bin/env bash
# Debian's Chromium for the real-browser tests (never `playwright install`: it cannot download here).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then echo "need root to apt-get install chromium" >&2; exit 1; fi
echo "installing Debian's chromium"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
