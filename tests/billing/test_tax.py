"""The VAT rule (billing.tax), table-driven: seller country, buyer country, VAT number as typed
(checked by its check digits, as the page and the API check it) → rate, reverse charge, note."""

from decimal import Decimal

import pytest

from billing.tax import (
    EU_VAT_RATES,
    OUTSIDE_EU_NOTE,
    REVERSE_CHARGE_NOTE,
    TaxReason,
    eu_vat_id,
    tax_decide,
    vat_id_country,
)

FLAT = Decimal("8.25")
VALID_DE = "DE136695976"
INVALID_DE = "DE136695977"  # last check digit wrong
VALID_FR = "FR40303265045"
VALID_NL = "NL004495445B01"
VALID_GR = "EL094259216"
VALID_AT = "ATU 135 856 27"  # as typed, with spaces


# seller, buyer country, buyer VAT number as typed (None: a consumer) → rate, reason, reverse charge, note
CASES = [
    # sellers outside the EU keep the entity's flat rate, whoever buys
    ("US", "US", None, FLAT, TaxReason.FLAT, False, ""),
    ("US", "DE", VALID_DE, FLAT, TaxReason.FLAT, False, ""),
    ("US", "FR", None, FLAT, TaxReason.FLAT, False, ""),
    (None, "DE", VALID_DE, FLAT, TaxReason.FLAT, False, ""),
    ("CH", "DE", None, FLAT, TaxReason.FLAT, False, ""),
    # EU seller at home: the domestic rate, business or consumer
    ("DE", "DE", None, Decimal("19"), TaxReason.DOMESTIC, False, ""),
    ("DE", "DE", VALID_DE, Decimal("19"), TaxReason.DOMESTIC, False, ""),
    ("FR", "FR", VALID_FR, Decimal("20"), TaxReason.DOMESTIC, False, ""),
    # EU seller, consumer in another member state: the destination's rate
    ("DE", "FR", None, Decimal("20"), TaxReason.DESTINATION, False, ""),
    ("DE", "HU", None, Decimal("27"), TaxReason.DESTINATION, False, ""),
    ("IE", "FI", None, Decimal("25.5"), TaxReason.DESTINATION, False, ""),
    ("FR", "LU", None, Decimal("17"), TaxReason.DESTINATION, False, ""),
    ("NL", "GR", None, Decimal("24"), TaxReason.DESTINATION, False, ""),
    # a VAT number that fails its check digits makes no business: destination rate
    ("FR", "DE", INVALID_DE, Decimal("19"), TaxReason.DESTINATION, False, ""),
    ("NL", "DE", "DE12", Decimal("19"), TaxReason.DESTINATION, False, ""),
    # EU seller, business with a valid VAT number of another member state: reverse charge
    ("FR", "DE", VALID_DE, Decimal("0"), TaxReason.REVERSE_CHARGE, True, REVERSE_CHARGE_NOTE),
    ("DE", "FR", VALID_FR, Decimal("0"), TaxReason.REVERSE_CHARGE, True, REVERSE_CHARGE_NOTE),
    ("DE", "NL", VALID_NL, Decimal("0"), TaxReason.REVERSE_CHARGE, True, REVERSE_CHARGE_NOTE),
    ("DE", "GR", VALID_GR, Decimal("0"), TaxReason.REVERSE_CHARGE, True, REVERSE_CHARGE_NOTE),
    ("DE", "AT", VALID_AT, Decimal("0"), TaxReason.REVERSE_CHARGE, True, REVERSE_CHARGE_NOTE),
    # EU seller, buyer outside the EU: no EU VAT
    ("DE", "US", None, Decimal("0"), TaxReason.OUTSIDE_EU, False, OUTSIDE_EU_NOTE),
    ("DE", "GB", None, Decimal("0"), TaxReason.OUTSIDE_EU, False, OUTSIDE_EU_NOTE),
    # country not known yet: domestic until the buyer says where
    ("DE", None, None, Decimal("19"), TaxReason.DOMESTIC, False, ""),
]


@pytest.mark.parametrize(("seller", "buyer", "vat_typed", "rate", "reason", "reverse", "note"), CASES)
def test_tax_decide_table(seller, buyer, vat_typed, rate, reason, reverse, note):
    seller_address_country = seller
    tax_info = [] if vat_typed is None else [{"type": "eu_vat", "value": vat_typed}]
    decision = tax_decide(seller_country=seller_address_country, flat_rate=FLAT, buyer_country=buyer,
                          buyer_vat_id=eu_vat_id(tax_info))
    assert decision.rate == rate
    assert decision.reason == reason
    assert decision.reverse_charge is reverse
    assert decision.note == note


def test_tax_decide_flat_seller_without_rate_charges_no_tax():
    assert tax_decide(seller_country="US", flat_rate=None, buyer_country="DE").rate is None


def test_eu_vat_rates_cover_the_27_member_states():
    assert len(EU_VAT_RATES) == 27
    assert all(Decimal(15) <= rate <= Decimal(27) for rate in EU_VAT_RATES.values())  # the Directive's floor


def test_eu_vat_id_skips_other_types_and_failed_numbers():
    info = [{"type": "gb_vat", "value": "GB980780684"}, {"type": "eu_vat", "value": INVALID_DE},
            {"type": "eu_vat", "value": "fr 40 303 265 045"}]
    assert eu_vat_id(info) == VALID_FR
    assert eu_vat_id([]) is None
    assert vat_id_country("EL094259216") == "GR"
    assert vat_id_country("GB980780684") is None
