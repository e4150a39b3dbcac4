"""Filters and tags for the hosted pages: money and dates for the active locale (babel),
and form fields rendered in Python (label, error, widget) so a page with a dozen fields
costs no template render per field."""

from html import escape

from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from checkout import pages

register = template.Library()


@register.filter
def money(amount, currency):
    """``{{ invoice.total|money:invoice.currency }}`` → "$1,234.50" (for the active locale)."""
    if amount in (None, ""):
        return ""
    return pages.money(amount, currency)


@register.filter
def day(value):
    """A date in the active locale's medium format ("Jan 15, 2026")."""
    if value in (None, ""):
        return ""
    return pages.day(value if isinstance(value, str) else value.isoformat()[:10])


@register.simple_tag
def field(bound):
    """A labelled field: ``<label>``, its first error (``id="<id>_error"``, which Django's
    ``aria-describedby`` points at) and the widget (with ``aria-invalid`` when in error).
    Escaped with the standard library (see ``checkout.forms.attrs_html``)."""
    errors = bound.errors
    html = (f'<div class="field{" has-error" if errors else ""}">'
            f'<label for="{escape(bound.id_for_label)}">{escape(str(bound.label))}</label>')
    if errors:
        html += (f'<p class="field-error" id="{escape(bound.auto_id)}_error"><span class="visually-hidden">'
                 f'{escape(_("Error:"))} </span>{escape(str(errors[0]))}</p>')
    return mark_safe(f"{html}{bound}</div>")


@register.simple_tag
def radios(bound):
    """A radio group as large, labelled choices (``<label class="choice">``)."""
    value = bound.value()
    required = " required" if bound.field.required else ""
    described = f' aria-describedby="{escape(bound.auto_id)}_error"' if bound.errors else ""
    parts = []
    for index, (choice, label) in enumerate(bound.field.choices):
        input_id = escape(f"{bound.auto_id}_{index}")
        checked = " checked" if str(choice) == str(value) else ""
        parts.append(
            f'<label class="choice" for="{input_id}"><input type="radio" name="{escape(bound.html_name)}" '
            f'value="{escape(str(choice))}" id="{input_id}"{required}{checked}{described}> '
            f"<span>{escape(str(label))}</span></label>"
        )
    return mark_safe("".join(parts))
