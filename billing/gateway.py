"""Payment providers: a small interface, the built-in test provider and Stripe.

The confirm service (``checkout.services.confirm``) talks only to ``PaymentProvider``; a
real gateway is another implementation (``provider_for``), with no change to the flow. A provider gets the amount, the currency, an idempotency key (our Payment id,
so a retried call never charges twice) and the card, and answers one of three outcomes:
``succeeded``, ``pending`` (settles later: ``settle`` is asked afterwards, from a
background task) or ``failed`` (with a code and a message the customer can read).

Card numbers live only in memory for the length of the call: ``CardDetails.__repr__``
masks them, and only the last four digits are ever stored or logged.

Stripe (``StripePaymentProvider``): card data never reaches us. Stripe.js on the page turns
the card into a payment method id, and the charge is a PaymentIntent confirmed server-side
for exactly the amount due, in minor units. ``requires_action`` (3-D Secure) hands the
intent's client secret back to the page, which authenticates the customer; the outcome is
then read back from Stripe (never from the browser) by ``settle``, from the return page, a
Stripe webhook or the periodic sweep, whichever comes first.
"""

import logging
import secrets
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

import stripe
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from billing.errors import PaymentOutcomeUnknown, PaymentProviderUnavailable
from core.money import minor_units

logger = logging.getLogger(__name__)


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"
    # The customer must authenticate (3-D Secure) in their browser; ``client_secret`` says how.
    REQUIRES_ACTION = "requires_action"


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
    # A gateway's idempotency key: the same for a retried attempt, so it never charges twice.
    idempotency_key: str
    # The test provider takes a card; Stripe a payment method id made by Stripe.js. A saved
    # method (renewals) is its provider reference, with the provider's customer it belongs to.
    card: CardDetails | None = None
    payment_method_id: str = ""
    description: str = ""
    metadata: dict = field(default_factory=dict)
    customer_reference: str = ""
    # Merchant-initiated (a renewal): the customer is not there to authenticate.
    off_session: bool = False
    # Save the method for later off-session charges (Stripe: setup_future_usage=off_session).
    save_for_future: bool = False


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    reference: str = ""
    failure_code: str = ""
    failure_message: str = ""
    client_secret: str = field(default="", repr=False)
    card_last4: str = ""
    # The method charged, as the provider knows it, when it can be saved (``save_for_future``).
    saved_method: "SavedMethod | None" = None


@dataclass(frozen=True)
class SavedMethod:
    """A card the provider keeps for later charges: its reference and what the customer
    recognises it by."""

    reference: str
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    customer_reference: str = ""


@dataclass(frozen=True)
class RefundResult:
    """A provider's answer to a refund: ``succeeded``, ``pending`` (it completes later) or
    ``failed`` (with a reason to show)."""

    status: str
    reference: str = ""
    failure_reason: str = ""


@dataclass(frozen=True)
class SettleRequest:
    reference: str
    amount: Decimal
    currency: str
    card_last4: str


class PaymentProvider(Protocol):
    name: str
    # True: the page collects the card itself (Stripe.js), we only ever see a payment method id.
    hosted_card_fields: bool

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
# Saved fine, but every later charge is declined (Stripe's 4000 0000 0000 0341).
CARD_CHARGES_FAIL = "4000000000000341"
# Charges with the customer present succeed; charges without them need authentication
# (Stripe's 4000 0027 6000 3184).
CARD_AUTHENTICATION_REQUIRED = "4000002760003184"


class TestBehaviour(StrEnum):
    """What a test card (and a method saved from it) does when charged."""

    __test__ = False

    SUCCEEDS = "succeeds"
    DECLINED = "declined"
    SETTLES_LATER = "settles_later"
    CHARGES_FAIL = "charges_fail"
    AUTHENTICATION_REQUIRED = "authentication_required"


TEST_CARD_BEHAVIOURS = {
    CARD_SUCCEEDS: TestBehaviour.SUCCEEDS,
    CARD_DECLINED: TestBehaviour.DECLINED,
    CARD_SETTLES_LATER: TestBehaviour.SETTLES_LATER,
    CARD_CHARGES_FAIL: TestBehaviour.CHARGES_FAIL,
    CARD_AUTHENTICATION_REQUIRED: TestBehaviour.AUTHENTICATION_REQUIRED,
}
_TEST_METHOD_PREFIX = "pm_test_"


def test_behaviour_of(payment_method_id: str) -> TestBehaviour | None:
    """The behaviour of a test payment method id: the API's ``pm_test_succeeds`` … or a saved
    ``pm_test_<behaviour>_<random>``."""
    if not payment_method_id.startswith(_TEST_METHOD_PREFIX):
        return None
    rest = payment_method_id[len(_TEST_METHOD_PREFIX):]
    for behaviour in sorted(TestBehaviour, key=len, reverse=True):
        if rest == behaviour or rest.startswith(f"{behaviour}_"):
            return behaviour
    return None


test_behaviour_of.__test__ = False


class TestPaymentProvider:
    """Deterministic provider for test mode: the card number (or the behaviour of a saved test
    method, ``pm_test_<behaviour>_…``) decides the outcome."""

    __test__ = False

    name = "test"
    hosted_card_fields = False

    def charge(self, request: ChargeRequest) -> ChargeResult:
        reference = f"test_ch_{secrets.token_hex(12)}"
        if request.card is not None:
            behaviour, last4 = TEST_CARD_BEHAVIOURS.get(request.card.number), request.card.last4
        else:
            behaviour, last4 = test_behaviour_of(request.payment_method_id), ""
        if behaviour is None:
            return ChargeResult(
                ChargeStatus.FAILED, reference, "card_not_supported",
                str(_("This card cannot be used in test mode. Use one of the test cards.")),
            )
        saved = None
        if request.save_for_future and behaviour != TestBehaviour.DECLINED:
            saved = self._saved(behaviour, request.card) if request.card else None
        if behaviour == TestBehaviour.SETTLES_LATER:
            return ChargeResult(ChargeStatus.PENDING, reference, card_last4=last4, saved_method=saved)
        if behaviour == TestBehaviour.AUTHENTICATION_REQUIRED and request.off_session:
            return ChargeResult(
                ChargeStatus.FAILED, reference, "authentication_required",
                str(_("Your bank asks you to confirm this payment. Please complete it on the payment page.")),
            )
        if behaviour in (TestBehaviour.DECLINED, TestBehaviour.CHARGES_FAIL):
            return ChargeResult(
                ChargeStatus.FAILED, reference, "card_declined",
                str(_("Your card was declined. Try another card or payment method.")),
            )
        return ChargeResult(ChargeStatus.SUCCEEDED, reference, card_last4=last4, saved_method=saved)

    def save(self, card: CardDetails) -> ChargeResult:
        """Save a card without charging it (a trial, nothing due today): a SetupIntent's
        equivalent. A card that always declines is refused."""
        behaviour = TEST_CARD_BEHAVIOURS.get(card.number)
        if behaviour is None or behaviour == TestBehaviour.DECLINED:
            return ChargeResult(ChargeStatus.FAILED, "", "card_declined",
                                str(_("Your card was declined. Try another card or payment method.")))
        return ChargeResult(ChargeStatus.SUCCEEDED, "", card_last4=card.last4,
                            saved_method=self._saved(behaviour, card))

    def saved_method_of(self, reference: str, card_last4: str) -> SavedMethod | None:
        """The method a settled charge came from, to keep for later charges: only the
        settle-later card's charges settle, and its later charges settle the same way."""
        return SavedMethod(reference=f"{_TEST_METHOD_PREFIX}{TestBehaviour.SETTLES_LATER}_{secrets.token_hex(8)}",
                           brand="visa", last4=card_last4)

    @staticmethod
    def _saved(behaviour: TestBehaviour, card: CardDetails) -> SavedMethod:
        return SavedMethod(reference=f"{_TEST_METHOD_PREFIX}{behaviour}_{secrets.token_hex(8)}", brand="visa",
                           last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year)

    def settle(self, request: SettleRequest) -> ChargeResult:
        # The settle-later test card always settles successfully; failures are
        # exercised through ops ("Mark payment failed").
        return ChargeResult(ChargeStatus.SUCCEEDED, request.reference)

    def cancel(self, reference: str) -> None:
        return None

    def detach(self, reference: str) -> None:
        """Test methods live only in our database: nothing to tell."""
        return None

    def refund(self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str) -> RefundResult:
        """Test refunds succeed at once."""
        return RefundResult("succeeded", f"test_re_{secrets.token_hex(12)}")


TEST_PROVIDER = TestPaymentProvider()

# Payment method ids the test provider takes through the API's confirm (as Stripe's
# pm_card_visa test ids): raw card numbers never travel through the merchant API.
TEST_PAYMENT_METHODS = {
    "pm_test_succeeds": CARD_SUCCEEDS,
    "pm_test_declined": CARD_DECLINED,
    "pm_test_settles_later": CARD_SETTLES_LATER,
}


def test_card_for(payment_method_id: str) -> CardDetails | None:
    number = TEST_PAYMENT_METHODS.get(payment_method_id)
    return None if number is None else CardDetails(number=number, exp_month=12, exp_year=2099, cvc="123")


test_card_for.__test__ = False


KEY_CHECK_TIMEOUT_SECONDS = 10


class KeyCheck(StrEnum):
    """What Stripe said of a secret key (``StripePaymentProvider.key_check``)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"  # 401: unknown, revoked or mistyped
    FORBIDDEN = "forbidden"  # 403: a restricted key without the permissions we use
    UNREACHABLE = "unreachable"  # no answer (network, timeout, Stripe's 5xx)


class StripePaymentProvider:
    """Stripe PaymentIntents with the organization's own keys (``PaymentSettings``)."""

    name = "stripe"
    hosted_card_fields = True

    def __init__(self, *, secret_key: str, publishable_key: str = ""):
        self.publishable_key = publishable_key
        self._secret_key = secret_key

    def __repr__(self) -> str:  # never the key
        return f"StripePaymentProvider(publishable_key={self.publishable_key!r})"

    def _client(self, *, max_network_retries: int = 2, timeout: float | None = None) -> stripe.StripeClient:
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        http = {"http_client": stripe.new_default_http_client(timeout=timeout)} if timeout else {}
        return stripe.StripeClient(self._secret_key, base_addresses=base, max_network_retries=max_network_retries,
                                   **http)

    def key_check(self) -> KeyCheck:
        """Whether Stripe takes the secret key, by one cheap read: the first Customer
        (``GET /v1/customers?limit=1``; renewals create and read customers, so a restricted key
        needs that permission anyway). An admin saving the key waits for it: one retry and a
        short timeout, not the charge's patience."""
        try:
            self._client(max_network_retries=1, timeout=KEY_CHECK_TIMEOUT_SECONDS).v1.customers.list(
                params={"limit": 1})
        except stripe.AuthenticationError:
            return KeyCheck.REJECTED
        except stripe.PermissionError:
            return KeyCheck.FORBIDDEN
        except stripe.StripeError as error:  # no answer, Stripe's 5xx, rate limited: not the key's fault
            logger.warning("stripe key check: no usable answer: %s (%s)", type(error).__name__, error.code)
            return KeyCheck.UNREACHABLE
        return KeyCheck.ACCEPTED

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if not request.payment_method_id:
            return ChargeResult(ChargeStatus.FAILED, failure_code="payment_method_required",
                                failure_message=str(_("Enter your card details.")))
        params = {
            "amount": amount_in_minor_units(request.amount, request.currency),
            "currency": request.currency.lower(),
            "payment_method": request.payment_method_id,
            "payment_method_types": ["card"],
            "confirm": True,
            "metadata": request.metadata,
            # The card's brand and last four digits come back with the answer (for the receipt).
            "expand": ["payment_method"],
        }
        if request.customer_reference:
            params["customer"] = request.customer_reference
        if request.off_session:
            # A renewal: Stripe declines with ``authentication_required`` rather than asking.
            params["off_session"] = True
        if request.save_for_future:
            # The card is attached to the Customer once the intent succeeds, set up for the
            # renewals (charged off-session later).
            params["setup_future_usage"] = "off_session"
        try:
            intent = self._client().v1.payment_intents.create(
                params=params, options={"idempotency_key": request.idempotency_key})
        except stripe.CardError as error:  # declined: the intent exists, failed
            intent = ((error.json_body or {}).get("error") or {}).get("payment_intent") or {}
            return ChargeResult(ChargeStatus.FAILED, intent.get("id", "") if isinstance(intent, dict) else "",
                                error.code or "card_declined", error.user_message or str(_("Your card was declined.")))
        except (stripe.InvalidRequestError, stripe.AuthenticationError, stripe.PermissionError) as error:
            # Stripe read the request and refused it (an amount it does not take, revoked keys):
            # nothing was charged, and sending it again would be refused again.
            logger.error("stripe refused the payment intent: %s (%s)", type(error).__name__, error.code)
            return ChargeResult(ChargeStatus.FAILED, failure_code=f"provider_{error.code or 'refused'}"[:64],
                                failure_message=str(_("Card payments are not available for this payment; "
                                                      "nothing was charged.")))
        except stripe.StripeError as error:
            # No answer (network, timeout, Stripe's 5xx, a concurrent request with the same key):
            # the intent may exist. The caller keeps the attempt and asks again with the same key
            # and the same parameters, which Stripe answers with the first outcome.
            logger.error("stripe payment intent create: no answer: %s (%s)", type(error).__name__, error.code)
            raise PaymentOutcomeUnknown() from None
        result = self._result(intent)
        if request.save_for_future and result.status == ChargeStatus.SUCCEEDED:
            result = replace(result, saved_method=self.card_saved(request.payment_method_id,
                                                                      request.customer_reference))
        return result

    def card_saved(self, payment_method_id: str, customer_reference: str) -> SavedMethod:
        """The card a succeeded intent or setup saved on ``customer_reference``, its details read
        from Stripe; after a charge that succeeded, a failed read must not undo it: the method
        is kept by its id alone."""
        try:
            return self.saved_method(payment_method_id, customer_reference)
        except stripe.StripeError as error:
            logger.warning("stripe payment method read failed: %s (%s)", type(error).__name__, error.code)
            return SavedMethod(reference=payment_method_id, customer_reference=customer_reference)

    def settle(self, request: SettleRequest) -> ChargeResult:
        try:
            return self._result(self._client().v1.payment_intents.retrieve(
                request.reference, params={"expand": ["payment_method"]}))
        except stripe.StripeError as error:
            logger.error("stripe payment intent retrieve: no answer: %s (%s)", type(error).__name__, error.code)
            raise PaymentOutcomeUnknown() from None

    def refund(self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str) -> RefundResult:
        """A Stripe Refund of ``amount`` on the PaymentIntent ``reference``; the key makes a
        retried call return the first refund."""
        params = {"payment_intent": reference, "amount": amount_in_minor_units(amount, currency)}
        try:
            refund = self._client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError as error:  # already fully refunded, disputed, …
            return RefundResult("failed", failure_reason=error.user_message or str(error.code or "refund refused"))
        except stripe.StripeError as error:
            logger.error("stripe refund create failed: %s (%s)", type(error).__name__, error.code)
            raise PaymentProviderUnavailable() from None
        data = refund.to_dict()
        status = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending"}.get(
            data.get("status"), "failed")
        return RefundResult(status, data.get("id", ""), data.get("failure_reason") or "")

    def refund_unrecorded(self, *, reference: str, idempotency_key: str) -> RefundResult:
        """Give back all of an intent that pays for nothing of ours (no amount: Stripe refunds
        what is left); the key makes a redelivered event refund once."""
        try:
            refund = self._client().v1.refunds.create(params={"payment_intent": reference},
                                                      options={"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError as error:  # refunded already, disputed, …
            return RefundResult("failed", failure_reason=error.user_message or str(error.code or "refund refused"))
        except stripe.StripeError as error:
            logger.error("stripe refund create failed: %s (%s)", type(error).__name__, error.code)
            raise PaymentProviderUnavailable() from None
        return RefundResult("succeeded" if refund.to_dict().get("status") == "succeeded" else "pending", refund.id)

    def refunds_of(self, reference: str, currency: str) -> list[tuple[str, Decimal, str]]:
        """The refunds Stripe has on a PaymentIntent: ``(id, amount, status)`` each, our statuses."""
        try:
            page = self._client().v1.refunds.list(params={"payment_intent": reference, "limit": 100}).to_dict()
        except stripe.StripeError as error:
            logger.error("stripe refund list failed: %s (%s)", type(error).__name__, error.code)
            raise PaymentProviderUnavailable() from None
        status = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}
        return [(r["id"], amount_from_minor_units(r["amount"], currency), status.get(r.get("status"), "pending"))
                for r in page.get("data") or ()]

    def customer_create(self, *, idempotency_key: str, email: str = "", name: str = "", metadata: dict) -> str:
        """A Stripe Customer for one of our customers (created once: the key makes a retry
        return the same one); saved methods attach to it. Returns its id."""
        params = {"metadata": metadata}
        if email:
            params["email"] = email
        if name:
            params["name"] = name
        try:
            customer = self._client().v1.customers.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            logger.error("stripe customer create failed: %s (%s)", type(error).__name__, error.code)
            raise PaymentProviderUnavailable() from None
        return customer.id

    def saved_method_of(self, reference: str, card_last4: str = "") -> SavedMethod | None:
        """The PaymentMethod a PaymentIntent was paid with, to keep for later charges."""
        data = self._client().v1.payment_intents.retrieve(reference).to_dict()
        method = data.get("payment_method")
        method_id = method.get("id") if isinstance(method, dict) else method
        return self.saved_method(method_id, data.get("customer") or "") if method_id else None

    def saved_method(self, payment_method_id: str, customer_reference: str = "") -> SavedMethod:
        """Brand, last four digits and expiry of a Stripe PaymentMethod (for the receipt and the
        customer's list of cards)."""
        data = self._client().v1.payment_methods.retrieve(payment_method_id).to_dict()
        card = _card_of(data)
        return SavedMethod(reference=payment_method_id, brand=(card.get("brand") or "").lower(),
                           last4=card.get("last4") or "",
                           exp_month=card.get("exp_month"), exp_year=card.get("exp_year"),
                           customer_reference=data.get("customer") or customer_reference)

    def setup_intent_create(self, *, customer_reference: str, idempotency_key: str, metadata: dict,
                            payment_method_id: str = "") -> ChargeResult:
        """A SetupIntent saving a card on ``customer_reference`` for off-session charges, when
        nothing is charged today. Without ``payment_method_id`` the page confirms it (Stripe.js
        ``confirmCardSetup``, 3-D Secure included; ``client_secret`` is for the page); with one
        it is confirmed here (the API), where nobody can authenticate: ``requires_action`` is
        then a failure."""
        params = {"customer": customer_reference, "usage": "off_session", "payment_method_types": ["card"],
                  "metadata": metadata}
        try:
            intent = self._client().v1.setup_intents.create(params=params,
                                                             options={"idempotency_key": idempotency_key})
            if payment_method_id:
                intent = self._client().v1.setup_intents.confirm(intent.id, params={
                    "payment_method": payment_method_id})
        except stripe.CardError as error:
            return ChargeResult(ChargeStatus.FAILED, "", error.code or "card_declined",
                                error.user_message or str(_("Your card was declined.")))
        except stripe.StripeError as error:
            logger.error("stripe setup intent failed: %s (%s)", type(error).__name__, error.code)
            raise PaymentProviderUnavailable() from None
        if not payment_method_id:
            data = intent.to_dict()
            return ChargeResult(ChargeStatus.PENDING, data["id"], client_secret=data.get("client_secret", ""))
        return self._setup_result(intent.to_dict())

    def setup_intent_result(self, reference: str, *, metadata: dict) -> ChargeResult:
        """How a SetupIntent the page confirmed ended, read from Stripe (never from the browser):
        ``succeeded`` with the saved card, or ``failed``. ``metadata`` must match what it was
        created with, so a SetupIntent made for another checkout is refused."""
        try:
            data = self._client().v1.setup_intents.retrieve(reference).to_dict()
        except stripe.InvalidRequestError:
            data = {}
        except stripe.StripeError as error:
            logger.error("stripe setup intent read failed: %s (%s)", type(error).__name__, error.code)
            raise PaymentProviderUnavailable() from None
        if not data or any((data.get("metadata") or {}).get(k) != v for k, v in metadata.items()):
            return ChargeResult(ChargeStatus.FAILED, reference, "setup_intent_invalid",
                                str(_("Your card could not be saved. Please enter it again.")))
        return self._setup_result(data)

    def _setup_result(self, data: dict) -> ChargeResult:
        status, reference = data.get("status"), data.get("id", "")
        if status == "succeeded" and data.get("payment_method"):
            method = data["payment_method"]
            method_id = method.get("id") if isinstance(method, dict) else method
            return ChargeResult(ChargeStatus.SUCCEEDED, reference,
                                saved_method=self.card_saved(method_id, data.get("customer") or ""))
        if status == "requires_action":
            return ChargeResult(ChargeStatus.FAILED, reference, "authentication_required",
                                str(_("Your bank asks you to confirm this card. Please try again.")))
        error = data.get("last_setup_error") or {}
        return ChargeResult(ChargeStatus.FAILED, reference, error.get("code") or "setup_failed",
                            error.get("message") or str(_("Your card could not be saved. Try another card.")))

    def detach(self, reference: str) -> None:
        """Detach a PaymentMethod from its Stripe Customer: it can never be charged again
        (https://docs.stripe.com/api/payment_methods/detach). Already detached, or unknown to
        Stripe, is done; no answer raises ``PaymentProviderUnavailable`` (asked again later)."""
        try:
            self._client().v1.payment_methods.detach(reference)
        except stripe.InvalidRequestError as error:
            logger.info("payment method %s not detached by stripe: %s", reference, error.code)
        except stripe.StripeError as error:
            logger.warning("stripe payment method detach failed: %s (%s)", type(error).__name__, error.code)
            raise PaymentProviderUnavailable() from None

    def cancel(self, reference: str) -> None:
        try:
            self._client().v1.payment_intents.cancel(reference)
        except stripe.InvalidRequestError:  # already succeeded or canceled: settle reads it
            logger.info("payment intent %s could not be canceled", reference)
        except stripe.StripeError as error:
            logger.warning("stripe payment intent cancel: no answer: %s (%s)", type(error).__name__, error.code)
            raise PaymentProviderUnavailable() from None

    @staticmethod
    def _result(intent) -> ChargeResult:
        data = intent.to_dict()
        status, reference = data.get("status"), data.get("id", "")
        if status == "succeeded":
            return ChargeResult(ChargeStatus.SUCCEEDED, reference, card_last4=_card_of(data.get("payment_method")).get("last4") or "")
        if status == "requires_action":
            return ChargeResult(ChargeStatus.REQUIRES_ACTION, reference, client_secret=data.get("client_secret", ""))
        if status in ("processing", "requires_confirmation", "requires_capture"):
            return ChargeResult(ChargeStatus.PENDING, reference)
        error = data.get("last_payment_error") or {}
        return ChargeResult(ChargeStatus.FAILED, reference, error.get("code") or "payment_failed",
                            error.get("message") or str(_("The payment did not go through. Try another card.")))


def _card_of(method) -> dict:
    """The card fields (brand, last4, exp_month, exp_year) of a Stripe PaymentMethod read as a
    dict; {} when it is only an id (not expanded). A legacy card (``card_…``, what localstripe's
    Stripe.js makes) has its fields at the top."""
    if not isinstance(method, dict):
        return {}
    return method.get("card") or (method if method.get("object") == "card" else {})


def provider_for(payment_settings, *, livemode: bool) -> PaymentProvider | None:
    """The provider an organization's ``PaymentSettings`` (None: none saved) name for a mode:
    Stripe with its keys; in test mode the built-in test provider by default. None: live mode
    without Stripe configured (no card payments)."""
    from core.secrets import secret_decrypt

    if payment_settings is not None and payment_settings.provider == "stripe":
        secret_key = secret_decrypt(payment_settings.stripe_secret_key_encrypted)
        if secret_key:
            return StripePaymentProvider(secret_key=secret_key,
                                         publishable_key=payment_settings.stripe_publishable_key)
        return None
    return None if livemode else TEST_PROVIDER


# --- Stripe's amounts -------------------------------------------------------------------------
#
# Stripe takes amounts as integers in its own idea of each currency's minor unit
# (https://docs.stripe.com/currencies), which is not always ISO 4217's (babel's, ``core.money``):
# two decimals unless listed here. The one table of its exceptions:


@dataclass(frozen=True)
class StripeCurrency:
    decimals: int  # the amount sent is ``amount × 10^decimals``
    step: int = 1  # …and must be a multiple of this


STRIPE_CURRENCIES: dict[str, StripeCurrency] = {
    # Zero-decimal: "to charge ¥500, provide an amount value of 500".
    **{code: StripeCurrency(0) for code in (
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF",
        "XPF")},
    # Three-decimal, last digit 0: "5.124 KWD must be rounded to 5120 or 5130".
    **{code: StripeCurrency(3, step=10) for code in ("BHD", "JOD", "KWD", "OMR", "TND")},
    # ISK has no decimals (ISO 0) but Stripe keeps two, in whole krónur: "an ISK amount of 100
    # represents 1 króna", multiples of 100 only (invalid_charge_amount_no_decimal_compatible).
    "ISK": StripeCurrency(2, step=100),
    # HUF and TWD: charged with two decimals (ISO's too); only payouts are whole units.
    "HUF": StripeCurrency(2),
    "TWD": StripeCurrency(2),
}
STRIPE_DEFAULT_CURRENCY = StripeCurrency(2)

# Stripe's minimum charge per presentment currency, in major units: "Minimum and maximum charge
# amounts", https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts (read
# 2026-12-07). A payment intent below it is refused (400 ``amount_too_small``, "Amount must be at
# least $0.50 usd"). Currencies not listed have no documented minimum here; Stripe also requires
# the amount to be worth at least the settlement currency's minimum once converted, which depends
# on the day's rate and is not checked in advance.
STRIPE_MINIMUM_CHARGES: dict[str, Decimal] = {
    code: Decimal(amount) for code, amount in {
        "USD": "0.50", "AED": "2.00", "AUD": "0.50", "BGN": "1.00", "BRL": "0.50", "CAD": "0.50",
        "CHF": "0.50", "CZK": "15.00", "DKK": "2.50", "EUR": "0.50", "GBP": "0.30", "HKD": "4.00",
        "HUF": "175.00", "INR": "0.50", "JPY": "50", "MXN": "10", "MYR": "2", "NOK": "3.00", "NZD": "0.50",
        "PLN": "2.00", "RON": "2.00", "SEK": "3.00", "SGD": "0.50", "THB": "10",
    }.items()
}


class AmountNotRepresentable(ValueError):
    """Stripe cannot take this amount in this currency (too precise, or not a multiple of its step)."""


def stripe_currency(currency: str) -> StripeCurrency:
    return STRIPE_CURRENCIES.get(currency.upper(), STRIPE_DEFAULT_CURRENCY)


def amount_in_minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` (already rounded to the currency) as the integer Stripe takes: 184.00 USD →
    18400, 5000 JPY → 5000, 500 ISK → 50000, 13.360 KWD → 13360. Raises ``AmountNotRepresentable``
    for an amount Stripe refuses (13.363 KWD, 1.005 USD): never rounded silently."""
    rule = stripe_currency(currency)
    scaled = Decimal(amount).scaleb(rule.decimals)
    if scaled != scaled.to_integral_value() or int(scaled) % rule.step:
        raise AmountNotRepresentable(f"{amount} {currency.upper()} cannot be sent to Stripe")
    return int(scaled)


def amount_from_minor_units(value: int, currency: str) -> Decimal:
    """Stripe's integer amount back as our Decimal (18400 USD → 184.00, 50000 ISK → 500)."""
    return Decimal(int(value)).scaleb(-stripe_currency(currency).decimals).quantize(
        Decimal(1).scaleb(-minor_units(currency)))


def stripe_amount_check(amount: Decimal, currency: str) -> str:
    """Empty when Stripe takes ``amount``; else why not, for the customer and the merchant."""
    try:
        amount_in_minor_units(amount, currency)
    except AmountNotRepresentable:
        rule = stripe_currency(currency)
        unit = Decimal(rule.step).scaleb(-rule.decimals)
        return (f"Card payments in {currency.upper()} are taken in steps of {unit} {currency.upper()}; "
                f"{amount} {currency.upper()} cannot be charged by card.")
    return ""


def stripe_minimum_charge(currency: str) -> Decimal | None:
    """The least Stripe charges in ``currency`` (None: no documented minimum)."""
    return STRIPE_MINIMUM_CHARGES.get(currency.upper())


def stripe_below_minimum(amount: Decimal, currency: str) -> bool:
    """True for an amount due (> 0) that Stripe refuses to charge as too small. Zero is not a
    charge (nothing is sent to Stripe)."""
    minimum = stripe_minimum_charge(currency)
    return minimum is not None and 0 < Decimal(amount) < minimum


def stripe_minimum_check(amount: Decimal, currency: str) -> str:
    """Empty when ``amount`` is not below Stripe's minimum charge; else why, for the merchant."""
    if not stripe_below_minimum(amount, currency):
        return ""
    minimum = stripe_minimum_charge(currency)
    due = Decimal(amount).quantize(Decimal(1).scaleb(-minor_units(currency)))
    return (f"Stripe charges at least {minimum} {currency.upper()} by card; the amount due, {due} "
            f"{currency.upper()}, is below that.")


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
