"""Payment providers: a small interface and the built-in test provider.

The confirm service (``checkout.services.confirm``) talks only to ``PaymentProvider``; a
real gateway is another implementation registered in ``PROVIDERS``, with no change to
the flow. A provider gets the amount, the currency, an idempotency key (our Payment id,
so a retried call never charges twice) and the card, and answers one of three outcomes:
``succeeded``, ``pending`` (settles later: ``settle`` is asked afterwards, from a
background task) or ``failed`` (with a code and a message the customer can read).

Card numbers live only in memory for the length of the call: ``CardDetails.__repr__``
masks them, and only the last four digits are ever stored or logged.
"""

import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from django.utils.translation import gettext_lazy as _


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True)
class CardDetails:
    """A card as typed by the customer, already shape-checked by the form (Luhn, expiry, CVC)."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def __repr__(self) -> str:  # never the full number, not even in a traceback
        return f"CardDetails(last4={self.last4!r}, exp={self.exp_month:02d}/{self.exp_year})"


@dataclass(frozen=True)
class ChargeRequest:
    amount: Decimal
    currency: str
    card: CardDetails
    # Our Payment id: a gateway uses it as its idempotency key.
    idempotency_key: str
    description: str = ""


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    reference: str = ""
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class SettleRequest:
    reference: str
    amount: Decimal
    currency: str
    card_last4: str


class PaymentProvider(Protocol):
    name: str

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Collect ``amount`` now. ``pending`` means the outcome comes later via ``settle``."""
        ...

    def settle(self, request: SettleRequest) -> ChargeResult:
        """The final outcome of a pending charge (``succeeded`` or ``failed``)."""
        ...


# The test cards (PRODUCT.md). Any other valid card number is declined as unknown,
# so a typo never "succeeds" by accident.
CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_SETTLES_LATER = "4000000000000077"


class TestPaymentProvider:
    """Deterministic provider for test mode: the card number decides the outcome."""

    name = "test"

    def charge(self, request: ChargeRequest) -> ChargeResult:
        reference = f"test_ch_{secrets.token_hex(12)}"
        number = request.card.number
        if number == CARD_SUCCEEDS:
            return ChargeResult(ChargeStatus.SUCCEEDED, reference)
        if number == CARD_SETTLES_LATER:
            return ChargeResult(ChargeStatus.PENDING, reference)
        if number == CARD_DECLINED:
            return ChargeResult(
                ChargeStatus.FAILED, reference, "card_declined",
                str(_("Your card was declined. Try another card or payment method.")),
            )
        return ChargeResult(
            ChargeStatus.FAILED, reference, "card_not_supported",
            str(_("This card cannot be used in test mode. Use one of the test cards.")),
        )

    def settle(self, request: SettleRequest) -> ChargeResult:
        # The settle-later test card always settles successfully; failures are
        # exercised through ops ("Mark payment failed").
        return ChargeResult(ChargeStatus.SUCCEEDED, request.reference)


PROVIDERS: dict[str, PaymentProvider] = {"test": TestPaymentProvider()}


def provider_get(name: str = "test") -> PaymentProvider:
    return PROVIDERS[name]


def luhn_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0
