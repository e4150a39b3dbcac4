"""The hosted page's language: the session's ``locale``, or with ``auto`` the best match of
the browser's ``Accept-Language`` among the supported languages (settings.LANGUAGES), else
English.

Pages activate it per request (``translation.override`` in ``checkout.views.hosted_page``);
there is no LocaleMiddleware, so the API and admin never change language by header.
"""

from functools import lru_cache

from django.conf import settings
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header

from checkout.enums import PageLocale

FALLBACK = "en"


def page_language(locale: str | None, accept_language: str | None) -> str:
    """The language a page is shown in: a fixed session locale wins over the browser."""
    if locale and locale != PageLocale.AUTO and locale in supported_languages():
        return locale
    return browser_language(accept_language or "")


@lru_cache(maxsize=1024)
def browser_language(accept_language: str) -> str:
    """The first language of the header (by q, then order) we have a page in: "de-AT" is
    German, "pt-BR,pt;q=0.9,es;q=0.5" is Spanish; none, or only "*": English."""
    for code, _q in parse_accept_lang_header(accept_language[:255]):
        if code == "*":
            break
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return FALLBACK


@lru_cache(maxsize=1)
def supported_languages() -> frozenset[str]:
    return frozenset(code for code, _name in settings.LANGUAGES)
