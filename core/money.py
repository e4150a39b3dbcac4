"""Money helpers: currencies' minor units from babel, explicit rounding.

Amounts are Decimal everywhere and leave the system as strings.
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache

from babel.numbers import format_currency, get_currency_precision, list_currencies
from django.core.exceptions import ValidationError

ZERO = Decimal(0)


@cache
def is_currency(code: str) -> bool:
    return isinstance(code, str) and len(code) == 3 and code.upper() == code and code in _currencies()


# ISO-4217 codes that are not money anyone can be billed in: precious metals (XAU, XAG, XPD,
# XPT), bond-market and accounting units (XBA–XBD, XDR, XSU, XUA), the testing code (XTS) and
# "no currency" (XXX). The real X- currencies (XAF, XOF, XPF, XCD, XCG) stay.
NON_MONEY_CODES = frozenset({
    "XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XTS", "XXX",
})


def currency_validator(value: str) -> None:
    """Model-field validator (admin forms): an ISO-4217 code money can be billed in."""
    if not is_currency(value):
        raise ValidationError("%(value)s is not an ISO-4217 currency code money can be billed in.",
                              code="invalid_currency", params={"value": value})


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies()) - NON_MONEY_CODES


@cache
def minor_units(currency: str) -> int:
    """Decimal places of the currency (JPY 0, USD 2, KWD 3)."""
    return get_currency_precision(currency)


@cache
def quantum(currency: str) -> Decimal:
    """One minor unit (0.01 for USD, 1 for JPY), for ``Decimal.quantize``."""
    return Decimal(1).scaleb(-minor_units(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor units."""
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_str(amount: Decimal, currency: str) -> str:
    """The wire form: a decimal string in the currency's exact precision."""
    return format(quantize(amount, currency), "f")


def format_money(amount: Decimal | str, currency: str, locale: str = "en_US") -> str:
    """Human form for pages ("$1,234.50", "¥1,235", "1.234,50 €")."""
    return format_currency(Decimal(amount), currency, locale=locale)
