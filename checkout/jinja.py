"""The Jinja2 environment of the hosted pages (``checkout/jinja2/checkout/``), for Django's built-in
``django.template.backends.jinja2.Jinja2`` backend (see TEMPLATES in config/settings.py).

Why Jinja2 there: it compiles a template to Python once, so a render is plain function calls;
Django's engine walks a node tree on every render, and that walk was about half of a session's
first render (2.3–2.9 ms of ~5 ms). Admin keeps Django's templates.

What the Django templates had, the environment provides:
- autoescape on (the backend's default); translated literals are trusted markup and the
  values put into them are escaped, as with Django's ``{% translate %}`` and
  ``{% blocktranslate %}``;
- i18n: ``jinja2.ext.i18n`` with Django's own gettext functions installed (``{{ _("…") }}``,
  ``{% trans name=… %}…{{ name }}…{% endtrans %}``), so the active language and the
  catalogs in LOCALE_PATHS apply as before. ``makemessages`` reads Django templates only:
  extract these with Babel's Jinja2 extractor;
- the CSRF token: the backend puts ``csrf_token`` in the context when a request is given; the
  open page is rendered without one (cached, its token filled in per response) and passes it;
- ``url()``, ``static()`` and ``get_current_language()`` globals for ``{% url %}``,
  ``{% static %}`` and ``{% get_current_language %}``;
- the hosted pages' template library (``checkout.templatetags.checkout_format``): ``money``
  and ``day`` as filters, ``field`` and ``radios`` as globals.

An undefined name renders empty and is false, in development too (the backend would use
``DebugUndefined`` with DEBUG on, which prints the name: a page must not look different there).
"""

from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language, gettext, ngettext, npgettext, pgettext
from jinja2 import Environment, Undefined

from checkout.templatetags import checkout_format


def url(name: str, *args, **kwargs) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def environment(**options) -> Environment:
    options["undefined"] = Undefined
    options.setdefault("keep_trailing_newline", True)  # as Django's engine: the same bytes out
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext)
    env.globals.update(
        url=url,
        static=static,
        get_current_language=get_language,
        field=checkout_format.field,
        radios=checkout_format.radios,
    )
    env.filters.update(money=checkout_format.money, day=checkout_format.day)
    return env
