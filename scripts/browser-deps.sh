#!/usr/bin/env bash
# Debian's Chromium for the real-browser tests (never `playwright install`: it cannot download here),
# and a CJK font: Debian's Chromium has none, so the Japanese page would render as empty boxes.
# WeasyPrint (PDF invoices and receipts) needs Pango and HarfBuzz's subsetter from Debian;
# poppler-utils gives pdftoppm/pdftotext, to look at a rendered invoice (docs/screenshots).
# On a shared machine another apt or dpkg may hold the lock: wait for it (up to 10 minutes a
# try), and try again twice if apt still fails (a mirror hiccup, a lock taken between two steps).
set -euo pipefail
packages=()
[[ -x /usr/bin/chromium ]] || packages+=(chromium chromium-driver)
for package in fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || packages+=("$package")
done
if [[ ${#packages[@]} -eq 0 ]]; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then echo "need root to apt-get install ${packages[*]}" >&2; exit 1; fi
echo "installing ${packages[*]}"
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="${APT_LOCK_TIMEOUT:-600}" "$@"; }
for attempt in 1 2 3; do
  if apt_get update -qq && apt_get install -y -qq "${packages[@]}" >/dev/null; then
    exit 0
  fi
  echo "apt-get failed (attempt $attempt of 3)" >&2
  [[ $attempt -lt 3 ]] && sleep $((attempt * 15))
done
exit 1
