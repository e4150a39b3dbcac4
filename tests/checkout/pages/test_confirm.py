"""checkout.services.confirm: every transition and every refusal."""

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone, translation

from billing.enums import InvoiceStatus, PaymentAttemptStatus, PaymentMethod
from billing.errors import PaymentProviderUnavailable
from billing.gateway import CARD_DECLINED, CARD_SETTLES_LATER, CARD_SUCCEEDS
from billing.models import Contract, Invoice, Payment, Phase, PhaseItem, SavedPaymentMethod
from checkout.enums import CheckoutType, EventType, PaymentStatus, SessionStatus
from checkout.errors import (
    CardRequired,
    CustomerDetailsRequired,
    PaymentMethodNotAllowed,
    SessionExpired,
    SessionNotFound,
    SessionNotOpen,
    SessionNotPriced,
    SessionNotProcessing,
)
from checkout.mandates import mandate_text
from checkout.models import Event
from checkout.services.confirm import (
    Mandate,
    Outcome,
    checkout_session_confirm,
    checkout_session_payment_resolve,
    payment_settle,
)
from customers.models import Customer
from tests.checkout.factories import CheckoutSessionFactory
from tests.customers.factories import CustomerFactory

from .helpers import API_CALLS, GUEST_DETAILS, SEATS, amendment_session, card, priced_session
from .helpers import event_types as events

pytestmark = pytest.mark.django_db


def assert_invoice_matches_estimate(invoice: Invoice, estimate: dict):
    assert invoice.total == Decimal(estimate["total"])
    assert invoice.subtotal == Decimal(estimate["subtotal"])
    assert invoice.tax == Decimal(estimate["tax"])
    assert invoice.amount_due == Decimal(estimate["amount_due"])
    lines = list(invoice.lines.order_by("position"))
    assert [(line.name, line.amount, line.proration) for line in lines] == [
        (item["name"], Decimal(item["amount"]), item["proration"]) for item in estimate["line_items"]
    ]


# --- paid now -------------------------------------------------------------------------------


def test_confirm_success_card_creates_contract_invoice_and_completes():
    session = priced_session()
    assert session.estimates["current_invoice"]["total"] == "184.00"

    result = checkout_session_confirm(session_id=session.pk, card=card())

    assert result.outcome == Outcome.COMPLETED
    session.refresh_from_db()
    assert (session.status, session.payment_status, session.payment_method) == (
        SessionStatus.COMPLETED, PaymentStatus.PAID, PaymentMethod.CARD)
    assert session.completed_at is not None
    contract = Contract.objects.get()
    assert session.contract_id == contract.pk
    assert (contract.customer_id, contract.business_entity_id, contract.plan_id) == (
        session.customer_id, session.business_entity_id, session.plan_id)
    assert (contract.currency, contract.start_date, contract.end_date) == ("USD", datetime.date(2026, 1, 15), None)
    phase = Phase.objects.get(contract=contract)
    items = list(PhaseItem.objects.filter(phase=phase).order_by("position"))
    quote_items = session.quote["phases"][0]["items"]
    assert [(str(i.product_id), i.quantity, i.terms) for i in items] == [
        (q["product_id"], q["quantity"], q["terms"]) for q in quote_items]
    invoice = Invoice.objects.get()
    assert invoice.total == Decimal("184.00")
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.checkout_session_id == session.pk
    assert_invoice_matches_estimate(invoice, session.estimates["current_invoice"])
    payment = Payment.objects.get()
    assert (payment.status, payment.amount, payment.card_last4, payment.method) == (
        PaymentAttemptStatus.SUCCEEDED, Decimal("184.00"), "4242", PaymentMethod.CARD)
    assert payment.provider_reference.startswith("test_ch_")
    assert events(session) == [EventType.COMPLETED]
    event = Event.objects.get(type=EventType.COMPLETED)
    assert event.payload["object"]["status"] == "completed"
    assert event.payload["object"]["contract_id"] == str(contract.pk)
    assert event.payload["invoice_id"] == str(invoice.pk)
    assert event.payload["object"]["estimates"]["current_invoice"]["total"] == "184.00"


def test_confirm_exact_to_the_cent_with_tax_and_jpy():
    session = priced_session(currency="JPY", tax_rate=Decimal("8.2500"),
                             specs=(({**SEATS[0], "unit_amount": Decimal(1234)}, 3),))
    current = session.estimates["current_invoice"]
    # 3 × 1234 = 3702; tax 8.25 % = 305.415 → 305 (JPY has no minor units).
    assert (current["subtotal"], current["tax"], current["total"]) == ("3702", "305", "4007")

    checkout_session_confirm(session_id=session.pk, card=card())

    invoice = Invoice.objects.get()
    assert (invoice.subtotal, invoice.tax, invoice.total) == (Decimal(3702), Decimal(305), Decimal(4007))
    assert Payment.objects.get().amount == Decimal(4007)


def test_confirm_guest_creates_the_customer_from_the_typed_details():
    session = priced_session(guest=True)
    typed = {"customer_name": "Ada Typed", "email": "Ada@Example.com",
             "address": {"line1": "1 Loop", "city": "Cupertino", "country": "US"},
             "tax_info": [{"type": "us_ein", "value": "12-3456789"}]}

    checkout_session_confirm(session_id=session.pk, card=card(), customer_details=typed)

    customer = Customer.objects.get()
    assert (customer.customer_name, customer.email, customer.organization_id, customer.business_entity_id) == (
        "Ada Typed", "Ada@Example.com", session.organization_id, session.business_entity_id)
    assert customer.address == {"line1": "1 Loop", "city": "Cupertino", "country": "US"}
    assert customer.tax_info == [{"type": "us_ein", "value": "12-3456789"}]
    assert customer.phone_number == GUEST_DETAILS["phone_number"]  # kept from the merchant's request
    session.refresh_from_db()
    assert session.customer_id == customer.pk
    assert Contract.objects.get().customer_id == customer.pk
    assert Event.objects.get(type=EventType.COMPLETED).payload["customer_created"] is True


def test_confirm_guest_with_existing_email_reuses_customer_unchanged():
    session = priced_session(guest=True)
    existing = CustomerFactory(organization=session.organization, email="grace.guest@EXAMPLE.com",
                               customer_name="Grace Original")
    other_org_customer = CustomerFactory(email="grace.guest@example.com")

    checkout_session_confirm(session_id=session.pk, card=card())

    assert Customer.objects.count() == 2  # nothing created
    existing.refresh_from_db()
    assert existing.customer_name == "Grace Original"
    assert Contract.objects.get().customer_id == existing.pk != other_org_customer.pk
    payload = Event.objects.get(type=EventType.COMPLETED).payload
    assert payload["customer_matched_existing"] is True and payload["customer_created"] is False


def test_confirm_guest_without_name_is_refused_and_nothing_created():
    session = priced_session(guest=True, customer_details={"email": "x@example.com"})
    with pytest.raises(CustomerDetailsRequired) as error:
        checkout_session_confirm(session_id=session.pk, card=card())
    assert error.value.fields == {"customer.customer_name": [error.value.message]}
    assert not Payment.objects.exists() and not Customer.objects.filter(email="x@example.com").exists()


# --- declined -------------------------------------------------------------------------------


def test_confirm_declined_stays_open_failed_and_creates_nothing():
    session = priced_session(guest=True)
    typed = {**GUEST_DETAILS, "customer_name": "Typed Before Decline"}

    result = checkout_session_confirm(session_id=session.pk, card=card(CARD_DECLINED), customer_details=typed)

    assert result.outcome == Outcome.PAYMENT_FAILED
    assert result.failure_code == "card_declined"
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.OPEN, PaymentStatus.FAILED)
    assert session.contract_id is None and session.customer_id is None
    assert session.customer_details["customer_name"] == "Typed Before Decline"  # kept for the retry
    assert not Contract.objects.exists() and not Invoice.objects.exists() and not Customer.objects.exists()
    payment = Payment.objects.get()
    assert (payment.status, payment.failure_code, payment.card_last4) == (
        PaymentAttemptStatus.FAILED, "card_declined", "0002")
    assert events(session) == [EventType.PAYMENT_FAILED]
    assert Event.objects.get(type=EventType.PAYMENT_FAILED).payload["object"]["payment_status"] == "failed"


def test_confirm_retry_after_decline_succeeds_once():
    session = priced_session()
    checkout_session_confirm(session_id=session.pk, card=card(CARD_DECLINED))
    result = checkout_session_confirm(session_id=session.pk, card=card())

    assert result.outcome == Outcome.COMPLETED
    assert Contract.objects.count() == 1 and Invoice.objects.count() == 1
    assert sorted(Payment.objects.values_list("status", flat=True)) == ["failed", "succeeded"]
    assert events(session) == [EventType.PAYMENT_FAILED, EventType.COMPLETED]


def test_confirm_unknown_test_card_is_declined_not_charged():
    session = priced_session()
    result = checkout_session_confirm(session_id=session.pk, card=card("4111111111111111"))
    assert result.outcome == Outcome.PAYMENT_FAILED and result.failure_code == "card_not_supported"
    assert not Contract.objects.exists()


# --- settles later --------------------------------------------------------------------------


def test_confirm_settle_later_goes_processing_and_queues_the_settle_task(django_capture_on_commit_callbacks):
    session = priced_session()
    with mock.patch("checkout.tasks.payment_settle.apply_async") as delay, \
            django_capture_on_commit_callbacks(execute=True):
        result = checkout_session_confirm(session_id=session.pk, card=card(CARD_SETTLES_LATER))

    assert result.outcome == Outcome.PROCESSING
    payment = Payment.objects.get()
    delay.assert_called_once_with(kwargs={"payment_id": str(payment.pk)}, countdown=None)
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.PROCESSING, PaymentStatus.PENDING)
    assert payment.status == PaymentAttemptStatus.PENDING and payment.card_last4 == "0077"
    assert not Contract.objects.exists() and not Invoice.objects.exists()
    assert events(session) == [EventType.PROCESSING]


def test_confirm_settle_later_survives_a_broker_outage(django_capture_on_commit_callbacks):
    session = priced_session()
    with mock.patch("checkout.tasks.payment_settle.apply_async", side_effect=ConnectionError("redis down")), \
            django_capture_on_commit_callbacks(execute=True):
        result = checkout_session_confirm(session_id=session.pk, card=card(CARD_SETTLES_LATER))
    assert result.outcome == Outcome.PROCESSING
    session.refresh_from_db()
    assert session.status == SessionStatus.PROCESSING


def settle_later(session):
    with mock.patch("checkout.tasks.payment_settle.apply_async"):
        return checkout_session_confirm(session_id=session.pk, card=card(CARD_SETTLES_LATER))


def test_payment_settle_completes_the_session_from_the_locked_estimate():
    session = priced_session(guest=True)
    payment = settle_later(session).payment

    result = payment_settle(payment_id=payment.pk)

    assert result.outcome == Outcome.COMPLETED
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    payment.refresh_from_db()
    assert payment.status == PaymentAttemptStatus.SUCCEEDED
    invoice = Invoice.objects.get()
    assert_invoice_matches_estimate(invoice, session.estimates["current_invoice"])
    assert session.contract_id == Contract.objects.get().pk
    assert Customer.objects.get().email == GUEST_DETAILS["email"]
    assert events(session) == [EventType.PROCESSING, EventType.COMPLETED]


def test_payment_settle_twice_settles_once():
    session = priced_session()
    payment = settle_later(session).payment
    payment_settle(payment_id=payment.pk)
    assert payment_settle(payment_id=payment.pk) is None
    assert Contract.objects.count() == 1 and Invoice.objects.count() == 1
    assert events(session) == [EventType.PROCESSING, EventType.COMPLETED]


def test_payment_settle_of_unknown_payment_is_a_no_op():
    assert payment_settle(payment_id="00000000-0000-0000-0000-000000000000") is None


def test_processing_session_never_expires():
    session = priced_session()
    settle_later(session)
    session.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    session.save(update_fields=["expires_at"])
    from checkout.selectors import checkout_session_get_by_token

    assert checkout_session_get_by_token(token=session.token).status == SessionStatus.PROCESSING


# --- ops: mark payment received / failed -----------------------------------------------------


def test_resolve_received_completes():
    session = priced_session()
    settle_later(session)
    result = checkout_session_payment_resolve(session_id=session.pk, succeeded=True)
    assert result.outcome == Outcome.COMPLETED
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    assert Invoice.objects.get().total == Decimal("184.00")


def test_resolve_failed_reopens_with_payment_failed_and_allows_retry():
    session = priced_session()
    settle_later(session)

    result = checkout_session_payment_resolve(session_id=session.pk, succeeded=False)

    assert result.outcome == Outcome.PAYMENT_FAILED
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.OPEN, PaymentStatus.FAILED)
    assert Payment.objects.get().status == PaymentAttemptStatus.FAILED
    assert not Contract.objects.exists()
    assert events(session) == [EventType.PROCESSING, EventType.PAYMENT_FAILED]
    # The customer may retry, and the settle task that arrives late changes nothing.
    assert checkout_session_confirm(session_id=session.pk, card=card()).outcome == Outcome.COMPLETED


@pytest.mark.parametrize("status", [SessionStatus.OPEN, SessionStatus.COMPLETED, SessionStatus.CANCELLED,
                                    SessionStatus.EXPIRED])
def test_resolve_refused_unless_processing(status):
    session = priced_session(status=status)
    with pytest.raises(SessionNotProcessing):
        checkout_session_payment_resolve(session_id=session.pk, succeeded=True)
    assert not Contract.objects.exists() and not Event.objects.exists()


def test_resolve_scoped_to_organization():
    session = priced_session()
    settle_later(session)
    other = priced_session()
    with pytest.raises(SessionNotFound):
        checkout_session_payment_resolve(session_id=session.pk, succeeded=True, organization_id=other.organization_id)


# --- pay by invoice, nothing to pay -------------------------------------------------------------


def test_confirm_pay_by_invoice_completes_with_open_invoice():
    session = priced_session()
    result = checkout_session_confirm(session_id=session.pk, payment_method=PaymentMethod.INVOICE)
    assert result.outcome == Outcome.COMPLETED
    session.refresh_from_db()
    assert (session.status, session.payment_status, session.payment_method) == (
        SessionStatus.COMPLETED, PaymentStatus.PENDING, PaymentMethod.INVOICE)
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.total, invoice.amount_due) == (
        InvoiceStatus.OPEN, Decimal("184.00"), Decimal("184.00"))
    assert not Payment.objects.exists()
    assert events(session) == [EventType.COMPLETED]


def test_confirm_pay_by_invoice_refused_where_entity_does_not_allow_it():
    session = priced_session(allow_invoice=False)
    with pytest.raises(PaymentMethodNotAllowed) as error:
        checkout_session_confirm(session_id=session.pk, payment_method=PaymentMethod.INVOICE)
    assert error.value.fields == {"payment_method": [error.value.message]}
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN and not Contract.objects.exists() and not Event.objects.exists()


def test_confirm_zero_total_needs_no_payment_when_the_merchant_collects_cards_only_if_required():
    # Only an in-arrears item: nothing is due on the start date.
    session = priced_session(specs=(API_CALLS,), payment_method_collection="if_required")
    assert session.estimates["current_invoice"]["total"] == "0.00"

    result = checkout_session_confirm(session_id=session.pk, payment_method=PaymentMethod.CARD, card=None)

    assert result.outcome == Outcome.COMPLETED
    session.refresh_from_db()
    assert (session.status, session.payment_status, session.payment_method) == (
        SessionStatus.COMPLETED, PaymentStatus.NO_PAYMENT_REQUIRED, PaymentMethod.NONE)
    invoice = Invoice.objects.get()
    assert (invoice.total, invoice.status, invoice.lines.count()) == (Decimal("0.00"), InvoiceStatus.PAID, 0)
    assert not Payment.objects.exists()
    assert not SavedPaymentMethod.objects.exists()


def test_nothing_due_today_still_saves_a_card_for_the_renewals_by_default():
    session = priced_session(specs=(API_CALLS,))  # billed in arrears: the first charge is next month

    with pytest.raises(CardRequired):
        checkout_session_confirm(session_id=session.pk, payment_method=PaymentMethod.CARD, card=None)
    result = checkout_session_confirm(session_id=session.pk, payment_method=PaymentMethod.CARD, card=card(),
                                      language="en", mandate=Mandate(ip_address="203.0.113.9", user_agent="UA"))

    assert result.outcome == Outcome.COMPLETED
    session.refresh_from_db()
    assert (session.payment_status, session.payment_method) == (PaymentStatus.NO_PAYMENT_REQUIRED, PaymentMethod.CARD)
    assert not Payment.objects.exists()  # saved, not charged
    method = SavedPaymentMethod.objects.get()
    assert (method.customer_id, method.last4, method.provider, method.mandate_ip_address) == (
        session.customer_id, "4242", "test", "203.0.113.9")
    assert method.provider_reference.startswith("pm_test_succeeds_")
    assert method.mandate_text.startswith(f"By subscribing, you authorise {session.business_entity.name} to charge "
                                          "this card")
    contract = Contract.objects.get()
    assert contract.default_payment_method_id == method.pk
    assert contract.next_billing_date == datetime.date.fromisoformat(session.estimates["next_invoice"]["invoice_date"])
    completed = Event.objects.get(checkout_session=session, type="checkout_session.completed")
    assert completed.payload["saved_payment_method_id"] == str(method.pk)


def test_a_declined_card_is_not_saved_and_the_session_stays_open():
    session = priced_session(specs=(API_CALLS,))
    result = checkout_session_confirm(session_id=session.pk, payment_method=PaymentMethod.CARD,
                                      card=card(CARD_DECLINED))
    assert result.outcome == Outcome.PAYMENT_FAILED
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.OPEN, PaymentStatus.FAILED)
    assert not SavedPaymentMethod.objects.exists() and not Contract.objects.exists()


def test_a_card_payment_saves_the_card_with_what_the_customer_agreed_to():
    session = priced_session()
    with translation.override("de"):
        shown = mandate_text(session)
    result = checkout_session_confirm(session_id=session.pk, card=card(), language="de")
    method = SavedPaymentMethod.objects.get()
    assert method.mandate_text == shown
    assert shown.startswith(f"Mit dem Abonnement ermächtigen Sie {session.business_entity.name}")
    assert Payment.objects.get().saved_payment_method_id == method.pk
    assert result.contract.default_payment_method_id == method.pk
    assert Contract.objects.get().collection_method == "charge_automatically"


def test_pay_by_invoice_keeps_no_card_and_invoices_the_renewals_too():
    session = priced_session()
    checkout_session_confirm(session_id=session.pk, payment_method=PaymentMethod.INVOICE)
    contract = Contract.objects.get()
    assert (contract.collection_method, contract.default_payment_method_id) == ("send_invoice", None)
    assert not SavedPaymentMethod.objects.exists()


# --- amendments -------------------------------------------------------------------------------


def test_confirm_quantity_update_ends_current_phase_and_starts_a_new_one():
    session, contract, old_phase = amendment_session(new_quantity=5)
    current = session.estimates["current_invoice"]
    # Change on 1 Feb within [15 Jan, 15 Feb): 14 of 31 days. Credit 3 seats, charge 5 seats.
    assert [(line["kind"], line["amount"]) for line in current["line_items"]] == [
        ("credit", "-16.26"), ("charge", "27.10")]
    assert current["total"] == "10.84"

    result = checkout_session_confirm(session_id=session.pk, card=card())

    assert result.outcome == Outcome.COMPLETED
    old_phase.refresh_from_db()
    assert old_phase.end_date == datetime.date(2026, 2, 1)
    assert old_phase.items.get().quantity == 3  # history kept
    new_phase = Phase.objects.get(contract=contract, position=1)
    assert (new_phase.start_date, new_phase.end_date) == (datetime.date(2026, 2, 1), None)
    assert new_phase.items.get().quantity == 5
    assert Contract.objects.count() == 1
    session.refresh_from_db()
    assert session.contract_id == contract.pk
    invoice = Invoice.objects.get()
    assert invoice.contract_id == contract.pk and invoice.total == Decimal("10.84")
    assert_invoice_matches_estimate(invoice, current)
    assert [line.proration for line in invoice.lines.order_by("position")] == [True, True]


def test_confirm_plan_switch_moves_the_contract_to_the_new_plan():
    session, contract, old_phase = amendment_session(checkout_type=CheckoutType.PLAN_SWITCH)
    old_plan = contract.plan_id

    checkout_session_confirm(session_id=session.pk, card=card())

    contract.refresh_from_db()
    assert contract.plan_id == session.plan_id != old_plan
    new_phase = Phase.objects.get(contract=contract, position=1)
    assert new_phase.plan_id == session.plan_id
    assert new_phase.items.get().terms["unit_amount"] == "20.00"
    old_phase.refresh_from_db()
    assert old_phase.plan_id == old_plan and old_phase.end_date == datetime.date(2026, 2, 1)
    assert Invoice.objects.get().total == Decimal(session.estimates["current_invoice"]["total"])


def test_confirm_amendment_on_the_phase_start_day_keeps_a_zero_length_phase():
    session, contract, old_phase = amendment_session(change=datetime.date(2026, 1, 15), new_quantity=4)
    checkout_session_confirm(session_id=session.pk, card=card())
    old_phase.refresh_from_db()
    assert old_phase.start_date == old_phase.end_date == datetime.date(2026, 1, 15)
    assert Phase.objects.filter(contract=contract).count() == 2


def test_confirm_amendment_with_negative_total_needs_no_payment():
    session, _contract, _phase = amendment_session(new_quantity=1)
    current = session.estimates["current_invoice"]
    assert Decimal(current["total"]) < 0 and current["amount_due"] == "0.00"

    result = checkout_session_confirm(session_id=session.pk)

    assert result.outcome == Outcome.COMPLETED
    invoice = Invoice.objects.get()
    assert invoice.total == Decimal(current["total"]) and invoice.amount_due == 0
    assert not Payment.objects.exists()


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [SessionStatus.COMPLETED, SessionStatus.CANCELLED, SessionStatus.PROCESSING])
def test_confirm_refused_unless_open(status):
    session = priced_session(status=status)
    with pytest.raises(SessionNotOpen):
        checkout_session_confirm(session_id=session.pk, card=card())
    assert not Payment.objects.exists() and not Contract.objects.exists() and not Event.objects.exists()


def test_confirm_past_expiry_expires_the_session_and_refuses():
    session = priced_session(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(SessionExpired) as error:
        checkout_session_confirm(session_id=session.pk, card=card())
    assert error.value.code == "checkout_session_expired"
    session.refresh_from_db()
    assert session.status == SessionStatus.EXPIRED  # the expiry stuck although we refused
    assert events(session) == [EventType.EXPIRED]
    assert not Payment.objects.exists() and not Contract.objects.exists()


def test_confirm_expired_session_is_refused_as_expired():
    session = priced_session(status=SessionStatus.EXPIRED)
    with pytest.raises(SessionExpired):
        checkout_session_confirm(session_id=session.pk, card=card())


def test_confirm_unknown_or_other_tenant_session_not_found():
    session = priced_session()
    other = priced_session()
    with pytest.raises(SessionNotFound):
        checkout_session_confirm(session_id=session.pk, organization_id=other.organization_id, card=card())
    with pytest.raises(SessionNotFound):
        checkout_session_confirm(session_id="00000000-0000-0000-0000-000000000000", card=card())
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN


def test_confirm_by_card_without_card_is_refused():
    session = priced_session()
    with pytest.raises(CardRequired):
        checkout_session_confirm(session_id=session.pk, payment_method=PaymentMethod.CARD)
    assert not Payment.objects.exists()


def test_confirm_unknown_method_is_refused():
    session = priced_session()
    with pytest.raises(PaymentMethodNotAllowed):
        checkout_session_confirm(session_id=session.pk, payment_method="bitcoin")


def test_confirm_session_without_estimate_is_refused():
    session = CheckoutSessionFactory()
    with pytest.raises(SessionNotPriced):
        checkout_session_confirm(session_id=session.pk, card=card())


def test_confirm_live_mode_card_is_refused_without_a_live_provider():
    session = priced_session(livemode=True)
    with pytest.raises(PaymentProviderUnavailable):
        checkout_session_confirm(session_id=session.pk, card=card())
    assert not Payment.objects.exists()
    # Invoice payment needs no provider.
    assert checkout_session_confirm(session_id=session.pk, payment_method=PaymentMethod.INVOICE).outcome == "completed"


def test_card_number_never_reaches_storage_or_repr():
    session = priced_session()
    details = card()
    assert CARD_SUCCEEDS not in repr(details)
    checkout_session_confirm(session_id=session.pk, card=details)
    payment = Payment.objects.values().get()
    assert CARD_SUCCEEDS not in str(payment)
    assert CARD_SUCCEEDS not in str(list(Event.objects.values_list("payload", flat=True)))
