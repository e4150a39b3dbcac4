"""Tax-inclusive and tax-exclusive prices (Pricing.tax_behavior), property-tested: the math of
billing.tax.tax_amounts and the engine's invoices built on it, to the minor unit."""

from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.estimates import Quote, QuoteItem, QuotePhase, estimate_new_contract
from billing.pricing import PriceTerms
from billing.tax import EU_VAT_RATES, tax_amounts
from core.money import minor_units, quantum
from tests.billing.test_properties import CURRENCIES, quotes

rates = st.one_of(st.sampled_from(sorted(set(EU_VAT_RATES.values()))),
                  st.decimals(min_value=0, max_value=30, places=4))
money = st.decimals(min_value=0, max_value=1_000_000, places=4, allow_nan=False, allow_infinity=False)


def _round(amount, currency):
    return amount.quantize(quantum(currency), ROUND_HALF_UP)


def _unit(currency):
    return D(1).scaleb(-minor_units(currency))


def _all(quote: Quote, behavior: str) -> Quote:
    phases = tuple(
        replace(phase, items=tuple(replace(item, terms=replace(item.terms, tax_behavior=behavior))
                                   for item in phase.items))
        for phase in quote.phases)
    return replace(quote, phases=phases)


def _invoices(estimates):
    return [i for i in (estimates.current_invoice, estimates.next_invoice) if i is not None]


@settings(max_examples=500, deadline=None)
@given(money, rates, st.sampled_from(CURRENCIES))
def test_tax_amounts_inclusive_total_is_the_listed_price(price, rate, currency):
    amounts = tax_amounts(exclusive=D(0), inclusive=price, rate=rate, currency=currency)
    listed = _round(price, currency)
    assert amounts.subtotal + amounts.tax == listed
    assert amounts.tax == amounts.included == _round(listed * rate / (100 + rate), currency)
    # the net amount taxed at the rate gives the listed price back, within a minor unit
    assert abs(amounts.subtotal * (1 + rate / 100) - listed) <= _unit(currency)


@settings(max_examples=500, deadline=None)
@given(money, rates, st.sampled_from(CURRENCIES))
def test_tax_amounts_exclusive_adds_the_rounded_tax(price, rate, currency):
    amounts = tax_amounts(exclusive=price, inclusive=D(0), rate=rate, currency=currency)
    net = _round(price, currency)
    assert amounts.subtotal == net
    assert amounts.tax == _round(net * rate / 100, currency)
    assert amounts.included == 0


@settings(max_examples=500, deadline=None)
@given(money, money, rates, st.sampled_from(CURRENCIES))
def test_tax_amounts_mixed_is_the_sum_of_both(exclusive, inclusive, rate, currency):
    # As invoices have them: line sums in minor units (a fraction split between the two is
    # settled by tax_amounts in the exclusive share; test_mixed_invoices_add_up covers that).
    exclusive, inclusive = _round(exclusive, currency), _round(inclusive, currency)
    mixed = tax_amounts(exclusive=exclusive, inclusive=inclusive, rate=rate, currency=currency)
    alone_ex = tax_amounts(exclusive=exclusive, inclusive=D(0), rate=rate, currency=currency)
    alone_in = tax_amounts(exclusive=D(0), inclusive=inclusive, rate=rate, currency=currency)
    assert mixed.tax == alone_ex.tax + alone_in.tax
    assert mixed.subtotal + mixed.tax == alone_ex.subtotal + alone_ex.tax + alone_in.subtotal + alone_in.tax


@settings(max_examples=300, deadline=None)
@given(quotes(extras=True), rates, rates)
def test_inclusive_invoices_total_the_listed_prices_whatever_the_rate(quote, rate, other_rate):
    inclusive = _all(quote, "inclusive")
    first = estimate_new_contract(quote=inclusive, tax_rate=rate)
    second = estimate_new_contract(quote=inclusive, tax_rate=other_rate)
    untaxed = estimate_new_contract(quote=inclusive, tax_rate=None)
    for a, b, c in zip(_invoices(first), _invoices(second), _invoices(untaxed), strict=True):
        listed = sum((line.amount for line in a.line_items), D(0))  # discounts included
        assert a.total == b.total == c.total == listed
        assert a.tax == a.tax_included
        assert a.subtotal + a.tax_included == listed
        assert a.total == a.subtotal + a.tax


@settings(max_examples=300, deadline=None)
@given(quotes(extras=True), rates)
def test_exclusive_invoices_add_the_tax_on_top(quote, rate):
    estimates = estimate_new_contract(quote=_all(quote, "exclusive"), tax_rate=rate)
    for invoice in _invoices(estimates):
        listed = sum((line.amount for line in invoice.line_items), D(0))
        assert invoice.subtotal == listed
        assert invoice.tax_included == 0
        assert invoice.total == listed + _round(listed * rate / 100, invoice.currency)


@settings(max_examples=300, deadline=None)
@given(quotes(extras=True), rates)
def test_mixed_invoices_add_up_and_json_carries_the_tax_in_prices(quote, rate):
    items = quote.phases[0].items
    mixed = tuple(replace(item, terms=replace(item.terms, tax_behavior=("inclusive", "exclusive")[i % 2]))
                  for i, item in enumerate(items))
    quote = replace(quote, phases=(replace(quote.phases[0], items=mixed),))
    estimates = estimate_new_contract(quote=quote, tax_rate=rate)
    wire = estimates.to_json()
    for invoice, data in zip(_invoices(estimates), (wire["current_invoice"], wire["next_invoice"]), strict=False):
        lines = sum((line.amount for line in invoice.line_items), D(0))
        assert lines == invoice.subtotal + invoice.tax_included
        assert invoice.total == invoice.subtotal + invoice.tax
        assert 0 <= invoice.tax_included <= invoice.tax or lines < 0
        assert D(data["tax_included"]) == invoice.tax_included
        assert sum(D(line["amount"]) for line in data["line_items"]) == D(data["subtotal"]) + D(data["tax_included"])


@pytest.mark.parametrize(("rate", "net", "tax"), [
    (D("19"), "100.84", "19.16"),  # Germany
    (D("20"), "100.00", "20.00"),  # France
    (D("27"), "94.49", "25.51"),  # Hungary: 120 / 1.27 = 94.488…
    (D("25.5"), "95.62", "24.38"),  # Finland: 120 / 1.255 = 95.617…
    (D("0"), "120.00", "0.00"),  # reverse charge: the merchant's price, no VAT in it
])
def test_inclusive_price_of_120_eur_at_each_rate(rate, net, tax):
    terms = PriceTerms("flat_fee", unit_amount=D("120.00"), tax_behavior="inclusive")
    quote = Quote("EUR", date(2026, 1, 1), None, (QuotePhase("Main", date(2026, 1, 1), None,
                                                             (QuoteItem("p", "Pro", "", 1, terms),)),))
    invoice = estimate_new_contract(quote=quote, tax_rate=rate).current_invoice
    assert (str(invoice.subtotal), str(invoice.tax), str(invoice.total)) == (net, tax, "120.00")
