"""A lost Stripe answer, against localstripe behind the Stripe double (tests/stripe_double.py:
Stripe's idempotency rules, answers dropped on demand).

The attempt is recorded and committed before Stripe is asked, its key and parameters belong
together, "no answer" is unknown (never "nothing was charged"), and the reconcile (the settle
sweep, or a webhook naming the intent) finishes it: one charge, one contract, one invoice."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from billing.enums import PaymentAttemptStatus
from billing.models import Contract, Invoice, Payment, PaymentSettings
from checkout.enums import PaymentStatus, SessionStatus
from checkout.models import CheckoutSession
from checkout.services.confirm import checkout_session_confirm, payment_settle, payments_pending_unsettled
from checkout.services.stripe_events import stripe_event_handle
from checkout.tasks import SETTLE_GRACE_SECONDS
from tests.checkout.pages.helpers import priced_session
from tests.helpers import api_client_for, threads_run
from tests.stripe_helpers import signed_event

SUCCEEDS, THREE_D_SECURE = "4242424242424242", "4000002500003155"
INTENTS = "/v1/payment_intents"


def _intents_for(localstripe, payment_id) -> list[dict]:
    intents = localstripe.get(f"{INTENTS}?limit=100")["data"]
    return [i for i in intents if (i.get("metadata") or {}).get("payment_id") == str(payment_id)]


@pytest.fixture
def stripe_session(stripe_double, stripe_mode):
    session = priced_session(success_url="https://merchant.example/ok")
    stripe_mode(session.organization)
    return session


@pytest.mark.django_db(transaction=True)
def test_a_lost_answer_is_unknown_and_the_reconcile_finishes_the_one_charge(client, stripe_session, stripe_double,
                                                                           localstripe):
    session = stripe_session
    method = localstripe.card_payment_method(SUCCEEDS)
    stripe_double.drop(3)  # Stripe charges; the answer to all three SDK tries is lost

    result = checkout_session_confirm(session_id=session.pk, payment_method_id=method)

    # Unknown, not failed: the attempt was committed before Stripe was asked, and survives.
    assert result.outcome == "processing"
    payment = Payment.objects.get(checkout_session=session)
    assert (payment.status, payment.provider_reference) == (PaymentAttemptStatus.PENDING, "")
    assert payment.idempotency_key == f"checkout-{session.pk}-{payment.pk}"
    assert payment.payment_method_reference == method
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.PROCESSING, PaymentStatus.PENDING)
    tries = stripe_double.posts(INTENTS)
    assert len(tries) == 3
    assert {t["key"] for t in tries} == {payment.idempotency_key}
    assert all(t["params"] == tries[0]["params"] for t in tries)  # one attempt, one set of parameters
    assert tries[0]["params"]["metadata[payment_id]"] == str(payment.pk)
    assert tries[0]["params"]["amount"] == "18400"
    assert len(_intents_for(localstripe, payment.pk)) == 1  # Stripe did charge
    page = client.get(reverse("checkout:page", args=[session.token])).content.decode()
    assert "checking your payment" in page and "nothing was charged" not in page

    # The sweep picks it up within the minute (not after the settle-later grace).
    Payment.objects.filter(pk=payment.pk).update(created_at=payment.created_at - timedelta(seconds=25))
    assert 25 < SETTLE_GRACE_SECONDS
    assert payment.pk in payments_pending_unsettled(grace_seconds=SETTLE_GRACE_SECONDS)

    stripe_double.heal()
    settled = payment_settle(payment_id=payment.pk)

    assert settled.outcome == "completed"
    again = stripe_double.posts(INTENTS)[3]
    assert (again["key"], again["params"]) == (payment.idempotency_key, tries[0]["params"])
    assert len(_intents_for(localstripe, payment.pk)) == 1  # asked again, charged once
    payment.refresh_from_db()
    intent = _intents_for(localstripe, payment.pk)[0]
    assert (payment.status, payment.provider_reference) == (PaymentAttemptStatus.SUCCEEDED, intent["id"])
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    assert Invoice.objects.get(checkout_session=session).total == payment.amount
    assert Contract.objects.filter(checkout_sessions=session).count() == 1
    assert payments_pending_unsettled(grace_seconds=0) == []


@pytest.mark.django_db(transaction=True)
def test_still_no_answer_leaves_the_attempt_pending_for_the_next_run(stripe_session, stripe_double, localstripe):
    method = localstripe.card_payment_method(SUCCEEDS)
    stripe_double.unreachable(3)
    assert checkout_session_confirm(session_id=stripe_session.pk, payment_method_id=method).outcome == "processing"
    payment = Payment.objects.get(checkout_session=stripe_session)
    assert _intents_for(localstripe, payment.pk) == []  # never reached Stripe

    stripe_double.unreachable(3)
    assert payment_settle(payment_id=payment.pk) is None
    payment.refresh_from_db()
    assert payment.status == PaymentAttemptStatus.PENDING

    assert payment_settle(payment_id=payment.pk).outcome == "completed"  # same key: charged once, now
    assert len(_intents_for(localstripe, payment.pk)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_webhook_for_an_intent_we_did_not_finish_recording_completes_it(client, stripe_session, stripe_double,
                                                                         localstripe):
    method = localstripe.card_payment_method(SUCCEEDS)
    stripe_double.drop(3)
    checkout_session_confirm(session_id=stripe_session.pk, payment_method_id=method)
    payment = Payment.objects.get(checkout_session=stripe_session)
    intent = _intents_for(localstripe, payment.pk)[0]
    body, signature = signed_event("payment_intent.succeeded", intent)

    answer = client.post(reverse("checkout:stripe-webhook", args=[PaymentSettings.objects.get().pk]), body,
                         content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)

    assert (answer.status_code, answer.json()["outcome"]) == (200, "applied")
    payment.refresh_from_db()
    assert (payment.status, payment.provider_reference) == (PaymentAttemptStatus.SUCCEEDED, intent["id"])
    assert CheckoutSession.objects.get(pk=stripe_session.pk).status == SessionStatus.COMPLETED
    assert Invoice.objects.filter(checkout_session=stripe_session).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_webhook_for_an_intent_that_paid_nothing_of_ours_is_refunded(client, stripe_session, stripe_double,
                                                                      localstripe):
    # A charge whose attempt ended failed on our side (or was never recorded): Stripe has the
    # money, we have no sale. It goes back, by its metadata.
    settings_row = PaymentSettings.objects.get()
    assert checkout_session_confirm(session_id=stripe_session.pk,
                                    payment_method_id=localstripe.card_payment_method(SUCCEEDS)).outcome == "completed"
    stray = localstripe.secret_post(INTENTS, "amount=18400&currency=usd&confirm=true&payment_method_types[]=card"
                                      f"&payment_method={localstripe.card_payment_method(SUCCEEDS)}"
                                      f"&metadata[checkout_session_id]={stripe_session.pk}"
                                      "&metadata[payment_id]=00000000-0000-0000-0000-000000000001")
    body, signature = signed_event("payment_intent.succeeded", stray)

    outcome = stripe_event_handle(payment_settings_id=settings_row.pk, payload=body, signature=signature)

    assert outcome == "refunded"
    refunds = stripe_double.posts("/v1/refunds")
    assert [(r["params"]["payment_intent"], r["key"]) for r in refunds] == [(stray["id"], f"orphan-{stray['id']}")]
    assert Payment.objects.filter(checkout_session=stripe_session).count() == 1  # nothing recorded as ours
    # Someone else's intent (no metadata of ours) is left alone.
    foreign = dict(stray, id="pi_foreign", metadata={})
    body, signature = signed_event("payment_intent.succeeded", foreign)
    assert stripe_event_handle(payment_settings_id=settings_row.pk, payload=body, signature=signature) == \
        "unknown_payment"


@pytest.mark.django_db(transaction=True)
def test_the_session_row_is_not_locked_while_stripe_is_asked(stripe_session, stripe_double, localstripe):
    method = localstripe.card_payment_method(SUCCEEDS)
    stripe_double.delay = 2.0
    seen = {}

    def other_writer():
        time.sleep(0.8)  # the confirm is waiting for Stripe by now
        try:
            with transaction.atomic():
                seen["status"] = CheckoutSession.objects.select_for_update(nowait=True).get(
                    pk=stripe_session.pk).status
        except DatabaseError as error:
            seen["error"] = error

    confirm = threading.Thread(target=lambda: seen.setdefault(
        "result", checkout_session_confirm(session_id=stripe_session.pk, payment_method_id=method)))
    confirm.start()
    threads_run(other_writer)
    confirm.join(30)

    assert "error" not in seen, seen.get("error")
    assert seen["status"] == SessionStatus.PROCESSING  # recorded, committed, unlocked
    assert seen["result"].outcome == "completed"


@pytest.mark.django_db(transaction=True)
def test_double_submit_sends_one_attempt_and_charges_once(stripe_session, stripe_double, localstripe):
    methods = [localstripe.card_payment_method(SUCCEEDS), localstripe.card_payment_method(SUCCEEDS)]
    stripe_double.delay = 0.5

    results = threads_run(*(lambda m=m: checkout_session_confirm(session_id=stripe_session.pk, payment_method_id=m)
                            for m in methods), together=True)

    outcomes = sorted(type(r).__name__ if isinstance(r, Exception) else r.outcome for r in results)
    assert outcomes == ["SessionNotOpen", "completed"]
    assert len(stripe_double.posts(INTENTS)) == 1
    assert list(Payment.objects.filter(checkout_session=stripe_session).values_list("status", flat=True)) == [
        "succeeded"]


@pytest.mark.django_db(transaction=True)
def test_an_api_confirm_that_needs_3d_secure_hands_back_the_client_secret(stripe_session, stripe_double,
                                                                         localstripe):
    client = api_client_for(stripe_session.organization)
    response = client.post(f"/api/v1/checkout-sessions/{stripe_session.pk}/confirm",
                           {"mode": "charge_now", "payment_method_id": localstripe.card_payment_method(THREE_D_SECURE)},
                           format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    payment = Payment.objects.get(checkout_session=stripe_session)
    assert body["status"] == "processing"
    assert body["next_action"] == {"type": "use_stripe_sdk", "client_secret": payment.client_secret,
                                   "payment_intent": payment.provider_reference}
