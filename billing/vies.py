"""VIES, the EU's registry of VAT numbers: is this number registered today? Optional and off by
default (``VIES_CHECK_ENABLED``), since it needs the internet; ``billing.tax`` stays pure and
offline, and the checkout asks here first (``vat_id_for_reverse_charge``) when enabled.

The REST service (``VIES_URL``): POST ``{"countryCode": "DE", "vatNumber": "136695976"}``
answers ``{"valid": true|false, "name": …, "address": …}``; when a member state's registry is
down it answers an error (``errorWrappers``/``actionSucceed: false``, a ``userError`` such as
``MS_UNAVAILABLE``, or an HTTP error) instead.

What an answer does to the sale:
- valid: reverse charge applies (cached for a day per number, so a checkout, its confirm and the
  next checkouts ask once);
- invalid: the number is ignored, as one failing its check digits is (the buyer pays VAT);
- no answer (unreachable, timeout, a 5xx, an error body): the sale goes on, charged VAT (the safe
  default: never a reverse charge on a number nobody confirmed), and the tax reason says
  ``vat_unverified`` on the session's estimate, the contract and the invoices, for ops to find.

The other answers are kept a minute (``OTHER_CACHE_SECONDS``): while VIES is down, checkouts do
not each wait for the timeout, and a session's create and confirm get the same answer.
"""

import logging
from dataclasses import dataclass
from enum import StrEnum

import httpx
from django.conf import settings
from django.core.cache import cache

from billing.tax import EU_VAT_RATES, vat_id_country

logger = logging.getLogger(__name__)

VIES_TIMEOUT_SECONDS = 5.0  # a checkout waits this long at most, then charges VAT
VALID_CACHE_SECONDS = 24 * 3600
OTHER_CACHE_SECONDS = 60


class ViesAnswer(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class ReverseChargeVatId:
    """``vat_id``: the number reverse charge may use (None: none); ``unverified``: the buyer gave
    one VIES could not confirm in time, so it is not used."""

    vat_id: str | None
    unverified: bool = False


def vat_id_for_reverse_charge(*, seller_country: str | None, vat_id: str | None) -> ReverseChargeVatId:
    """The buyer's checked (``billing.tax.eu_vat_id``) VAT number as ``billing.tax.tax_decide``
    should see it. VIES is asked only when enabled and when the number would make the sale a
    reverse charge (an EU seller, a number of another member state)."""
    if not vat_id or not settings.VIES_CHECK_ENABLED:
        return ReverseChargeVatId(vat_id)
    seller = (seller_country or "").upper()
    country = vat_id_country(vat_id)
    if seller not in EU_VAT_RATES or country is None or country == seller:
        return ReverseChargeVatId(vat_id)
    answer = vies_check(vat_id)
    if answer == ViesAnswer.VALID:
        return ReverseChargeVatId(vat_id)
    return ReverseChargeVatId(None, unverified=answer == ViesAnswer.UNAVAILABLE)


def vies_check(vat_id: str) -> ViesAnswer:
    """Whether VIES knows the compact number ``vat_id`` ("DE136695976", Greece "EL…")."""
    key = f"vies:{vat_id}"
    if (cached := _cache_get(key)) in set(ViesAnswer):
        return ViesAnswer(cached)
    try:
        response = httpx.post(settings.VIES_URL, json={"countryCode": vat_id[:2], "vatNumber": vat_id[2:]},
                              timeout=VIES_TIMEOUT_SECONDS)
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as error:
        logger.warning("VIES did not answer for %s (%s): charging VAT, the number unverified", vat_id,
                       type(error).__name__)
        _cache_set(key, ViesAnswer.UNAVAILABLE)
        return ViesAnswer.UNAVAILABLE
    answer = _answer(body)
    if answer == ViesAnswer.UNAVAILABLE:
        logger.warning("VIES gave no answer for %s (HTTP %s): charging VAT, the number unverified", vat_id,
                       response.status_code)
    _cache_set(key, answer)
    return answer


def _answer(body) -> ViesAnswer:
    if not isinstance(body, dict) or not isinstance(body.get("valid"), bool):
        return ViesAnswer.UNAVAILABLE
    if body.get("errorWrappers") or body.get("actionSucceed") is False:
        return ViesAnswer.UNAVAILABLE
    if body.get("userError") not in (None, "", "VALID", "INVALID"):  # MS_UNAVAILABLE, TIMEOUT, …
        return ViesAnswer.UNAVAILABLE
    return ViesAnswer.VALID if body["valid"] else ViesAnswer.INVALID


# The cache (Redis) only saves asking again: when it is down, VIES is asked.
def _cache_get(key: str):
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 - a cache outage must not stop a sale
        logger.warning("cache unavailable for %s", key)
        return None


def _cache_set(key: str, answer: ViesAnswer) -> None:
    try:
        cache.set(key, answer.value, VALID_CACHE_SECONDS if answer == ViesAnswer.VALID else OTHER_CACHE_SECONDS)
    except Exception:  # noqa: BLE001 - as above
        logger.warning("cache unavailable for %s", key)
