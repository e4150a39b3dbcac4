#!/usr/bin/env bash
# Debian's Chromium for the real-browser tests (never `playwright install`: it cannot download here),
# and a CJK font: Debian's Chromium has none, so the Japanese page would render as empty boxes.
set -euo pipefail
packages=()
[[ -x /usr/bin/chromium ]] || packages+=(chromium chromium-driver)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "ok installed" || packages+=(fonts-noto-cjk)
if [[ ${#packages[@]} -eq 0 ]]; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then echo "need root to apt-get install ${packages[*]}" >&2; exit 1; fi
echo "installing ${packages[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
