"""Filters and tags for the hosted pages: money and dates for the active locale (babel),
and form fields rendered in Python (label, error, widget) so a page with a dozen fields
costs no template render per field."""

from django import template
from django.utils.html import format_html
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
    ``aria-describedby`` points at) and the widget (with ``aria-invalid`` when in error)."""
    errors = bound.errors
    html = format_html('<div class="field{}"><label for="{}">{}</label>',
                       " has-error" if errors else "", bound.id_for_label, bound.label)
    if errors:
        html += format_html('<p class="field-error" id="{}_error"><span class="visually-hidden">{} </span>{}</p>',
                            bound.auto_id, _("Error:"), errors[0])
    return mark_safe(f"{html}{bound}</div>")


@register.simple_tag
def radios(bound):
    """A radio group as large, labelled choices (``<label class="choice">``)."""
    value = bound.value()
    required = " required" if bound.field.required else ""
    described = format_html(' aria-describedby="{}_error"', bound.auto_id) if bound.errors else ""
    parts = []
    for index, (choice, label) in enumerate(bound.field.choices):
        input_id = f"{bound.auto_id}_{index}"
        checked = " checked" if str(choice) == str(value) else ""
        parts.append(format_html(
            '<label class="choice" for="{}"><input type="radio" name="{}" value="{}" id="{}"{}{}{}> <span>{}</span></label>',
            input_id, bound.html_name, choice, input_id, mark_safe(required), mark_safe(checked), described, label))
    return mark_safe("".join(parts))
