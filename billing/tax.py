"""Which tax an invoice charges: EU VAT for sellers established in the EU, the business entity's
flat rate for everyone else. Pure: values in, a ``TaxDecision`` out; no ORM, no network.

The rule (EU VAT Directive 2006/112/EC, for electronically supplied services sold by a seller
registered for the One-Stop Shop):

- seller outside the EU (or with no country): the entity's flat ``tax_rate`` (None = no tax);
- buyer in the seller's own member state: the seller's domestic standard rate, business or not;
- business buyer with a valid VAT number of another member state: reverse charge, 0 %, and the
  invoice says so (Articles 44, 196 and 226(11a));
- consumer (or a VAT number that fails its check digits) in another member state: that state's
  standard rate (Article 58, place of supply = where the consumer lives);
- buyer outside the EU: no EU VAT (the place of supply is outside the EU), 0 %;
- buyer's country not known yet (a guest who has not typed an address): the domestic rate, which
  the page re-prices as soon as the country is known.

"Valid" means the number's format and check digits (python-stdnum, ``customers.tax_ids``),
offline. VIES (whether the number is registered today) is a network call and is not made here:
with ``VIES_CHECK_ENABLED`` the caller asks ``billing.vies`` first and passes the number only when
VIES confirmed it; one VIES could not answer for is passed as ``vat_id_unverified`` (VAT is
charged, and the reason says ``vat_unverified`` so that ops can find the sale).
Not handled: US sales tax, reduced rates, the EUR 10,000 micro-business threshold below which a
seller may charge its home rate to consumers elsewhere in the EU.
"""

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_noop

from core.money import quantize
from customers.tax_ids import tax_id_check

# Standard VAT rates of the 27 member states, percent.
# Source: European Commission, DG TAXUD, "VAT rates applied in the Member States of the European
# Union" (Taxes in Europe Database), situation at 1 July 2025, plus Romania's rise from 19 % to
# 21 % on 1 August 2025 (Law 141/2025). Estonia 24 % since 1 July 2025, Finland 25.5 % since
# 1 September 2024, Slovakia 23 % since 1 January 2025. Greece is keyed by its ISO code GR (its
# VAT numbers start with EL).
EU_VAT_RATES_AS_OF = date(2025, 8, 1)
EU_VAT_RATES_SOURCE = (
    "European Commission, DG TAXUD: VAT rates applied in the Member States of the European Union"
)
EU_VAT_RATES: dict[str, Decimal] = {
    "AT": Decimal("20"),
    "BE": Decimal("21"),
    "BG": Decimal("20"),
    "CY": Decimal("19"),
    "CZ": Decimal("21"),
    "DE": Decimal("19"),
    "DK": Decimal("25"),
    "EE": Decimal("24"),
    "ES": Decimal("21"),
    "FI": Decimal("25.5"),
    "FR": Decimal("20"),
    "GR": Decimal("24"),
    "HR": Decimal("25"),
    "HU": Decimal("27"),
    "IE": Decimal("23"),
    "IT": Decimal("22"),
    "LT": Decimal("21"),
    "LU": Decimal("17"),
    "LV": Decimal("21"),
    "MT": Decimal("18"),
    "NL": Decimal("21"),
    "PL": Decimal("23"),
    "PT": Decimal("23"),
    "RO": Decimal("21"),
    "SE": Decimal("25"),
    "SI": Decimal("22"),
    "SK": Decimal("23"),
}

# The mention Article 226(11a) requires on an invoice whose VAT the customer accounts for.
# English here (the API and the stored estimate carry it so); marked for the catalogues, and the
# page, the invoice document and the e-mails translate it on display (``gettext(note)``).
REVERSE_CHARGE_NOTE = gettext_noop(
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Article 196, Council Directive 2006/112/EC)."
)
OUTSIDE_EU_NOTE = gettext_noop("Not subject to EU VAT: the place of supply is outside the European Union.")


class TaxReason:
    FLAT = ""  # a seller outside the EU: the entity's own rate (blank, as on older rows)
    DOMESTIC = "domestic"
    DESTINATION = "destination"
    REVERSE_CHARGE = "reverse_charge"
    OUTSIDE_EU = "outside_eu"
    # A business buyer's VAT number of another member state that VIES could not confirm in time
    # (billing.vies): charged as a consumer (domestic or destination rate), never reverse charge.
    VAT_ID_UNVERIFIED = "vat_unverified"


@dataclass(frozen=True, slots=True)
class TaxDecision:
    """``rate`` in percent (None: no tax at all); ``note`` is what the invoice must say."""

    rate: Decimal | None
    reason: str
    country: str | None = None  # whose rate applies
    reverse_charge: bool = False

    @property
    def note(self) -> str:
        return tax_note_for(self.reason)


def tax_note_for(reason: str) -> str:
    """What an invoice taxed for ``reason`` must say (English; the page translates it)."""
    if reason == TaxReason.REVERSE_CHARGE:
        return REVERSE_CHARGE_NOTE
    if reason == TaxReason.OUTSIDE_EU:
        return OUTSIDE_EU_NOTE
    return ""


def vat_id_country(vat_id: str | None) -> str | None:
    """The member state (ISO code) a compact EU VAT number belongs to: ``EL…`` is Greece (GR)."""
    if not vat_id or len(vat_id) < 3:
        return None
    prefix = vat_id[:2].upper()
    country = "GR" if prefix == "EL" else prefix
    return country if country in EU_VAT_RATES else None


def tax_decide(*, seller_country: str | None, flat_rate: Decimal | None, buyer_country: str | None,
               buyer_vat_id: str | None = None, vat_id_unverified: bool = False) -> TaxDecision:
    """The tax on a sale. ``buyer_vat_id``: the buyer's EU VAT number, already checked
    (``customers.tax_ids.tax_id_check``) and compacted; pass None when it failed its check or the
    buyer gave none (a consumer). ``vat_id_unverified``: the buyer gave one that VIES could not
    confirm (``billing.vies``; pass ``buyer_vat_id=None`` then): the EU VAT charged says so."""
    decision = _tax_decide(seller_country, flat_rate, buyer_country, buyer_vat_id)
    if vat_id_unverified and decision.reason in (TaxReason.DOMESTIC, TaxReason.DESTINATION):
        return replace(decision, reason=TaxReason.VAT_ID_UNVERIFIED)
    return decision


def _tax_decide(seller_country, flat_rate, buyer_country, buyer_vat_id) -> TaxDecision:
    seller = (seller_country or "").upper()
    if seller not in EU_VAT_RATES:
        return TaxDecision(flat_rate, TaxReason.FLAT)
    buyer = (buyer_country or "").upper() or None
    vat_country = vat_id_country(buyer_vat_id)
    if vat_country is not None and vat_country != seller:
        return TaxDecision(Decimal(0), TaxReason.REVERSE_CHARGE, vat_country, reverse_charge=True)
    if buyer is None or buyer == seller or vat_country == seller:
        return TaxDecision(EU_VAT_RATES[seller], TaxReason.DOMESTIC, seller)
    if buyer in EU_VAT_RATES:
        return TaxDecision(EU_VAT_RATES[buyer], TaxReason.DESTINATION, buyer)
    return TaxDecision(Decimal(0), TaxReason.OUTSIDE_EU, buyer)


def eu_vat_id(tax_info) -> str | None:
    """The first EU VAT number of a customer's ``tax_info`` that passes its check digits."""
    for entry in tax_info or ():
        if not isinstance(entry, dict) or entry.get("type") != "eu_vat" or not entry.get("value"):
            continue
        check = tax_id_check("eu_vat", entry["value"])
        if check.problem is None:
            return check.value
    return None


# --- the amounts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaxAmounts:
    """``subtotal`` is net of tax; ``subtotal + tax`` is the total; ``included`` is the part of
    ``tax`` that tax-inclusive prices contained (so the lines add up to ``subtotal + included``)."""

    subtotal: Decimal
    tax: Decimal
    included: Decimal


def tax_amounts(*, exclusive: Decimal, inclusive: Decimal, rate: Decimal | None, currency: str) -> TaxAmounts:
    """Tax on an invoice whose lines add up to ``exclusive`` (prices without tax) plus
    ``inclusive`` (prices with tax in them), rounded half-up to the currency's minor units:

    - exclusive: ``tax = round(exclusive × rate / 100)``, added on top;
    - inclusive: ``included = round(inclusive × rate / (100 + rate))``, taken out of the price,
      so an invoice of tax-inclusive prices totals exactly the listed prices, whatever the rate.
    """
    # Round the inclusive share and give the rest to the exclusive one, so that the two still add up
    # to the lines (a discount split between them can leave each half a minor unit: 0.005 + 0.005).
    lines = quantize(exclusive + inclusive, currency)
    inclusive = quantize(inclusive, currency)
    exclusive = lines - inclusive
    if not rate:
        zero = quantize(Decimal(0), currency)
        return TaxAmounts(exclusive + inclusive, zero, zero)
    added = quantize(exclusive * rate / 100, currency)
    included = quantize(inclusive * rate / (100 + rate), currency)
    return TaxAmounts(exclusive + inclusive - included, added + included, included)
