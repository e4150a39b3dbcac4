"""The customer's agreement to future charges (the mandate): the sentence the page shows next to
the button when the card is kept for the renewals, and the exact text recorded with the saved
card when they confirm (card networks require it for merchant-initiated charges).

Built from the session's locked estimate (the next invoice's total and date, the cadence of its
recurring lines) in the active language, so what is recorded is what was shown.
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.errors import InvalidCadence
from billing.pricing import cadence_months
from checkout.enums import CheckoutType, PaymentMethodCollection
from checkout.models import CheckoutSession
from checkout.pages import day, money


def session_saves_card(session: CheckoutSession, amount_due) -> bool:
    """Whether confirming keeps the card for later charges: the session bills something after
    today (a next invoice). With nothing due today, a new contract asks for a card anyway unless
    the merchant collects one only when required (``payment_method_collection``); an amendment
    does not (the contract keeps the method it has)."""
    if not (session.estimates or {}).get("next_invoice"):
        return False
    if amount_due > 0:
        return True
    return (session.checkout_type == CheckoutType.NEW_CONTRACT
            and session.payment_method_collection == PaymentMethodCollection.ALWAYS)


def mandate_text(session: CheckoutSession) -> str:
    """The agreement in the active language ("By subscribing, you authorise Acme Cloud to charge
    this card $49.00 every month until you cancel, starting on Feb 28, 2027.")."""
    upcoming = session.estimates["next_invoice"]
    return _("By subscribing, you authorise %(merchant)s to charge this card %(amount)s %(every)s until you "
             "cancel, starting on %(date)s.") % {
        "merchant": session.business_entity.name,
        "amount": money(upcoming["total"], upcoming["currency"]),
        "every": _every(upcoming),
        "date": day(upcoming["invoice_date"]),
    }


def _every(invoice: dict) -> str:
    """How often, from the shortest cadence among the invoice's recurring lines."""
    months = []
    for line in invoice.get("line_items") or ():
        try:
            months.append(cadence_months(line["cadence"]))
        except (KeyError, TypeError, InvalidCadence):
            continue
    n = min(months, default=1)
    if n % 12 == 0:
        return ngettext("every year", "every %(n)s years", n // 12) % {"n": n // 12}
    return ngettext("every month", "every %(n)s months", n) % {"n": n}
