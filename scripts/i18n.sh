#!/usr/bin/env bash
# The hosted pages' translations (locale/<lang>/LC_MESSAGES/django.po, compiled to .mo, both
# committed: the app needs no gettext tools at run time).
#   scripts/i18n.sh extract   strings from scripts/babel.cfg's files → locale/django.pot,
#                             merged into every catalogue (new strings empty, fuzzy flagged)
#   scripts/i18n.sh compile   .po → .mo (run after translating; commit both)
#   scripts/i18n.sh check     fail when a catalogue has an empty or fuzzy entry (CI-able)
# Babel (a dependency) does it all; Django's makemessages reads Django templates only.
set -euo pipefail
cd "$(dirname "$0")/.."
# As the Makefile: uv on PATH, else the one `make` installs in .tools/.
UV=${UV:-$(command -v uv 2>/dev/null || echo .tools/bin/uv)}
LANGS=(de fr es ja)
babel() { "$UV" run --quiet pybabel "$@"; }

case "${1:-}" in
  extract)
    babel extract --mapping-file scripts/babel.cfg --output-file locale/django.pot \
      --keywords "gettext_lazy gettext_noop ngettext_lazy:1,2 pgettext_lazy:1c,2" \
      --add-comments "Translators:" --sort-by-file --no-wrap --omit-header --project checkout .
    for lang in "${LANGS[@]}"; do
      po="locale/$lang/LC_MESSAGES/django.po"
      if [[ -f $po ]]; then
        babel update --input-file locale/django.pot --output-file "$po" --locale "$lang" --no-wrap --ignore-obsolete
      else
        babel init --input-file locale/django.pot --output-file "$po" --locale "$lang" --no-wrap
      fi
    done
    ;;
  compile)
    for lang in "${LANGS[@]}"; do
      babel compile --input-file "locale/$lang/LC_MESSAGES/django.po" \
        --output-file "locale/$lang/LC_MESSAGES/django.mo" --locale "$lang" --statistics
    done
    ;;
  check)
    "$UV" run --quiet python - "${LANGS[@]}" <<'PY'
import sys
from babel.messages.pofile import read_po

bad = 0
for lang in sys.argv[1:]:
    with open(f"locale/{lang}/LC_MESSAGES/django.po", "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            print(f"{lang}: untranslated or fuzzy: {message.id!r}")
            bad += 1
sys.exit(1 if bad else 0)
PY
    ;;
  *) echo "usage: scripts/i18n.sh extract|compile|check" >&2; exit 2 ;;
esac
