"""Stripe's currency exceptions (billing.gateway.STRIPE_CURRENCIES), checked against the examples
of Stripe's own documentation:

- https://docs.stripe.com/currencies — "to charge 10 USD, provide an amount value of 1000";
  zero-decimal: "to charge ¥500, provide an amount value of 500"; three-decimal (BHD, JOD, KWD,
  OMR, TND): "the least-significant (last) digit [must] be 0 … 5.124 KWD must be rounded to 5120
  or 5130"; HUF: "if you have an available balance of HUF 10.45, you can pay out HUF 10 by
  submitting 1000" (charges keep two decimals).
- https://support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds — "ISK
  will remain a two-decimal currency in the Stripe API, and an ISK amount of `100` will continue
  to represent 1 króna"; amounts not divisible by 100 are refused
  (``invalid_charge_amount_no_decimal_compatible``).
"""

from decimal import Decimal

import pytest

from billing.gateway import (
    STRIPE_CURRENCIES,
    AmountNotRepresentable,
    amount_from_minor_units,
    amount_in_minor_units,
    stripe_amount_check,
)

D = Decimal


@pytest.mark.parametrize("amount, currency, sent", [
    (D("10.00"), "USD", 1000),     # "to charge 10 USD, provide … 1000"
    (D("500"), "JPY", 500),        # "to charge ¥500, provide … 500"
    (D("5.120"), "KWD", 5120),     # "5.124 KWD must be rounded to 5120 or 5130"
    (D("5.130"), "KWD", 5130),
    (D("13.360"), "BHD", 13360),
    (D("1"), "ISK", 100),          # "an ISK amount of 100 … represent[s] 1 króna"
    (D("500"), "ISK", 50000),      # our 500 ISK: was sent as 500 (5 ISK), a 100× undercharge
    (D("10.00"), "HUF", 1000),     # "HUF 10 by submitting 1000"
    (D("10.45"), "HUF", 1045),     # charges keep two decimals
    (D("99.50"), "TWD", 9950),
    (D("2500"), "UGX", 2500),
])
def test_amounts_sent_to_stripe_follow_its_documented_examples(amount, currency, sent):
    assert amount_in_minor_units(amount, currency) == sent
    assert amount_from_minor_units(sent, currency) == amount


@pytest.mark.parametrize("amount, currency", [
    (D("5.124"), "KWD"),   # Stripe refuses 5124
    (D("13.363"), "KWD"),
    (D("0.001"), "OMR"),
    (D("1.005"), "USD"),
    (D("0.5"), "JPY"),
])
def test_amounts_stripe_refuses_are_refused_here_not_rounded(amount, currency):
    with pytest.raises(AmountNotRepresentable):
        amount_in_minor_units(amount, currency)
    assert f"{amount} {currency}" in stripe_amount_check(amount, currency)


def test_the_table_lists_the_five_three_decimal_currencies_in_steps_of_ten():
    three = sorted(code for code, rule in STRIPE_CURRENCIES.items() if rule.decimals == 3)
    assert three == ["BHD", "JOD", "KWD", "OMR", "TND"]
    assert {STRIPE_CURRENCIES[code].step for code in three} == {10}
    assert stripe_amount_check(D("13.363"), "KWD") == (
        "Card payments in KWD are taken in steps of 0.010 KWD; 13.363 KWD cannot be charged by card.")
