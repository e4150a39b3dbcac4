"""Countries: ISO-3166 alpha-2 codes and their names, from babel's CLDR data.

One list for the API, the hosted page's form and its address lines. CLDR's territories
include a few codes that are not countries (regions such as EU and UN, the pseudo-locales XA
and XB, "unknown" ZZ); XK (Kosovo) stays, as payment providers accept it.
"""

import unicodedata
from functools import lru_cache

from babel import Locale, UnknownLocaleError

_NOT_COUNTRIES = frozenset({"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"})


@lru_cache(maxsize=16)
def country_names(locale: str) -> tuple[tuple[str, str], ...]:
    """``(code, name)`` for every country, names in ``locale`` (falling back to English),
    sorted by name."""
    try:
        names = Locale.parse(locale).territories
    except (ValueError, LookupError, UnknownLocaleError):
        names = Locale("en").territories
    pairs = [(code, name) for code, name in names.items()
             if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES]
    return tuple(sorted(pairs, key=lambda pair: _sort_key(pair[1])))


def _sort_key(name: str) -> str:
    """Accents ignored, as people look names up ("Österreich" among the O's, not after
    "Zypern"); a rough stand-in for the locale's collation, which needs ICU."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    return frozenset(code for code, _name in country_names("en"))


@lru_cache(maxsize=1024)
def country_name(code: str, locale: str) -> str:
    """The country's name in ``locale``; the code itself when it is not one."""
    return dict(country_names(locale)).get(code.upper(), code)
