"""The translation catalogues are complete and their committed .mo files are what the .po files
compile to (``scripts/i18n.sh check`` and ``compile``, held here so CI catches a forgotten step)."""

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]


def _messages(catalog) -> dict:
    def plain(value):  # a plural's forms come as a list from .mo, a tuple from .po
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {(message.context, plain(message.id)): plain(message.string) for message in catalog if message.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_compiled(language):
    folder = LOCALE / language / "LC_MESSAGES"
    with open(folder / "django.po", "rb") as handle:
        po = read_po(handle)
    untranslated = [m.id for m in po if m.id and (m.fuzzy or not all(
        m.string if isinstance(m.string, tuple) else (m.string,)))]
    assert untranslated == []
    with open(folder / "django.mo", "rb") as handle:
        mo = read_mo(handle)
    assert _messages(mo) == _messages(po), "run scripts/i18n.sh compile"
