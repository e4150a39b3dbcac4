"""localstripe with the parts of Stripe's saved-card behaviour it lacks, for the tests only.

Run as ``python -m tests.localstripe_plus --port N --from-scratch`` (``tests.stripe_helpers``
does). localstripe 1.15.10 refuses ``setup_future_usage`` on a PaymentIntent (400 "Unexpected
setup_future_usage"), accepts ``off_session`` without keeping it, and never attaches a card to a
Customer after a PaymentIntent or a SetupIntent, so a test could neither send what Stripe needs
nor ask afterwards what was sent. This patches its classes, before its server starts, to behave
as Stripe documents (docs.stripe.com/payments/save-during-payment, /payments/save-and-reuse):

- a PaymentIntent keeps ``setup_future_usage`` and ``off_session`` and shows them when read;
- a succeeded PaymentIntent with ``setup_future_usage`` and a ``customer`` attaches its payment
  method to that customer; so does a succeeded SetupIntent with a customer;
- a declined confirm names the PaymentIntent in its error, as Stripe's card errors do;
- an off-session confirm of a card that needs authentication is declined with
  ``authentication_required`` (402, the intent back to ``requires_payment_method``), except
  4000 0025 0000 3155 once set up (attached to a customer): Stripe then lets it through;
- detaching a saved card by its ``card_…`` id works, as Stripe's PaymentMethods API allows (the
  cards localstripe's Stripe.js makes have such ids; localstripe refuses them with a 400).

Nothing else changes; the real server code runs.
"""

from localstripe import resources
from localstripe.errors import UserError
from localstripe.resources import PaymentIntent, SetupIntent, StripeObject, try_convert_to_bool

# Stripe's test card that asks for authentication on-session only until it has been set up.
_AUTHENTICATES_UNTIL_SET_UP = "4000002500003155"

_intent_init = PaymentIntent.__init__
_intent_on_success = PaymentIntent._on_success
_intent_confirm = PaymentIntent._confirm
_setup_attach = SetupIntent._attach_pm
_setup_confirm = SetupIntent._api_confirm.__func__


def _intent_init_plus(self, *args, setup_future_usage=None, **kwargs):
    if setup_future_usage not in (None, "off_session", "on_session"):
        raise UserError(400, "Bad request")
    _intent_init(self, *args, **kwargs)
    self.setup_future_usage = setup_future_usage
    self.off_session = False


@classmethod
def _intent_create_plus(cls, confirm=None, off_session=None, **data):
    confirm, off_session = try_convert_to_bool(confirm), try_convert_to_bool(off_session)
    if confirm not in (None, True, False) or off_session not in (None, True, False):
        raise UserError(400, "Bad request")
    if off_session is not None and confirm is not True:  # as Stripe: off_session needs confirm=true
        raise UserError(400, "Bad request")
    obj = StripeObject._api_create.__func__(cls, **data)
    obj.off_session = bool(off_session)
    if confirm:
        try:
            obj._confirm(on_failure_now=obj._report_failure)
        except UserError as error:  # Stripe names the failed intent in a decline
            if error.code == 402:
                error.body["error"].setdefault("payment_intent", obj._export())
                error.body["error"]["type"] = "card_error"
            raise
    return obj


def _method(payment_method_id):
    return resources.PaymentMethod._api_retrieve(payment_method_id)


def _intent_confirm_plus(self, on_failure_now):
    method = _method(self.payment_method)
    needs_authentication = getattr(method, "_requires_authentication", lambda: False)()
    if self.off_session and needs_authentication:
        set_up = getattr(method, "_card_number", "") == _AUTHENTICATES_UNTIL_SET_UP and method.customer
        if not set_up:
            self.payment_method = None  # Stripe: back to requires_payment_method
            raise UserError(402, "Your card was declined. This transaction requires authentication.", {
                "code": "authentication_required", "decline_code": "authentication_required",
                "type": "card_error", "payment_intent": self._export()})
        self._create_charge(on_failure_now=on_failure_now)
        return
    _intent_confirm(self, on_failure_now)


def _intent_on_success_plus(self):
    if self.setup_future_usage and self.customer:
        _method(self.latest_charge.payment_method).customer = self.customer
    _intent_on_success(self)


def _setup_attach_plus(self, pm):
    _setup_attach(self, pm)
    if self.status == "succeeded" and self.customer:
        pm.customer = self.customer


@classmethod
def _setup_confirm_plus(cls, id, **kwargs):
    obj = _setup_confirm(cls, id, **kwargs)
    if obj.status == "succeeded" and obj.customer and obj.payment_method:  # after 3-D Secure
        _method(obj.payment_method).customer = obj.customer
    return obj


_method_detach = resources.PaymentMethod._api_detach.__func__


@classmethod
def _method_detach_plus(cls, id, **kwargs):
    # Stripe's PaymentMethods API takes a saved card's ``card_…`` id too (docs.stripe.com/payments/
    # payment-methods/transitioning); localstripe answers it 400 "Bad request".
    if isinstance(id, str) and id.startswith("card_") and not kwargs:
        card = _method(id)
        card.customer = None
        return card
    return _method_detach(cls, id, **kwargs)


def patch() -> None:
    PaymentIntent.__init__ = _intent_init_plus
    PaymentIntent._api_create = _intent_create_plus
    PaymentIntent._confirm = _intent_confirm_plus
    PaymentIntent._on_success = _intent_on_success_plus
    SetupIntent._attach_pm = _setup_attach_plus
    original_confirm, original_detach = SetupIntent._api_confirm, resources.PaymentMethod._api_detach
    SetupIntent._api_confirm = _setup_confirm_plus
    resources.PaymentMethod._api_detach = _method_detach_plus
    # The server binds its extra routes from this list when it is imported: point the
    # SetupIntent confirm and PaymentMethod detach routes at the patched functions first.
    replaced = {original_confirm: SetupIntent._api_confirm, original_detach: resources.PaymentMethod._api_detach}
    resources.extra_apis[:] = [(method, url, replaced.get(func, func)) for method, url, func in resources.extra_apis]


if __name__ == "__main__":
    patch()
    from localstripe import server

    server.start()
