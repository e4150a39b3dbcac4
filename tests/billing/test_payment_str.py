"""A payment names itself by what ops look for in admin lists, confirmation pages and the audit
log: the amount in its currency, how it was paid, the card's last four digits and its status."""

from decimal import Decimal

import pytest

from billing.models import Payment


@pytest.mark.parametrize(("fields", "text"), [
    ({"amount": Decimal("49.0000"), "currency": "USD", "method": "card", "card_last4": "4242",
      "status": "succeeded"}, "$49.00 by card •••• 4242, succeeded"),
    ({"amount": Decimal("1000"), "currency": "JPY", "method": "invoice", "status": "pending"},
     "¥1,000 by invoice, pending"),
    ({"amount": Decimal("13.3630"), "currency": "KWD", "method": "card", "status": "failed"},
     "KWD13.363 by card, failed"),
])
def test_a_payment_reads_as_amount_method_card_and_status(fields, text):
    assert str(Payment(**fields)) == text
