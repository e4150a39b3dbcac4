"""The hosted page's card confirm: at most 21 SQL statements for the whole request (BEGIN and
COMMIT counted as Django counts them), whatever the plan's size: 12 for the confirm itself
(issue #22), two for the card it keeps for the renewals (issue #25): its row, and its
``payment_method.attached`` event (numbered in the same statement), one for the invoice's
sequential number (issue #27: the entity's counter, taken and locked in one statement), and six
for recording the attempt before the card is charged, in its own transaction, so that no row
stays locked for the gateway call (issue #24): BEGIN, the session's move to processing, COMMIT;
then the session and the payment locked again, and the payment's outcome.

Transactional tests, so what is measured is what production runs (no test-wrapping savepoints).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.enums import PaymentAttemptStatus
from billing.models import Contract, Invoice, Payment
from checkout.enums import EventType, PaymentStatus, SessionStatus
from checkout.models import Event

from .helpers import API_CALLS, ONBOARDING, PLATFORM, SEATS, priced_session

pytestmark = pytest.mark.django_db(transaction=True)

BUDGET = 21
CARD = {"payment_method": "card", "card_number": "4242 4242 4242 4242", "card_expiry": "12/34", "card_cvc": "123"}


def _confirm(client, session) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/pay/{session.token}", CARD)
    assert response.status_code == 302, response.content
    assert response["Location"] == f"https://merchant.example/success?session={session.pk}"
    return [query["sql"] for query in ctx.captured_queries]


def test_card_confirm_is_twenty_one_statements_and_completes(client):
    session = priced_session()

    statements = _confirm(client, session)

    # The page's read (session, entity, customer, plan), the payment settings (for the form and
    # the charge); BEGIN, the session locked, the attempt recorded, the session processing; COMMIT;
    # the card charged; BEGIN, the session and the payment locked, the saved card, the contract,
    # its phase and items, the invoice's number, the invoice and its lines, the card's event, the
    # payment's outcome, the completion with its event; COMMIT.
    assert len(statements) == BUDGET, "\n".join(s[:120] for s in statements)
    assert not [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))]
    session.refresh_from_db()
    assert (session.status, session.payment_status) == (SessionStatus.COMPLETED, PaymentStatus.PAID)
    invoice = Invoice.objects.get(checkout_session=session)
    assert str(invoice.total) == "184.0000" and invoice.contract_id == session.contract_id
    assert Contract.objects.get().customer_id == session.customer_id
    payment = Payment.objects.get(checkout_session=session)
    assert (payment.status, payment.amount, payment.card_last4) == (
        PaymentAttemptStatus.SUCCEEDED, invoice.total, "4242")
    event = Event.objects.get(checkout_session=session)
    assert (event.type, event.sequence) == (EventType.COMPLETED, 1)
    assert event.payload["object"]["status"] == "completed" and event.payload["payment_id"] == str(payment.pk)
    assert session.customer_language == "en"  # recorded with the completion, no statement of its own


def test_card_confirm_statements_do_not_grow_with_the_plan(client):
    small = priced_session(specs=(SEATS,))
    large = priced_session(specs=(SEATS, PLATFORM, ONBOARDING, API_CALLS) + tuple(
        ({**SEATS[0], "product__name": f"Add-on {n}"}, 1) for n in range(12)))

    assert len(_confirm(client, small)) == len(_confirm(client, large)) <= BUDGET


def test_a_retry_after_a_decline_continues_the_event_sequence_in_the_same_statement_count(client):
    session = priced_session()
    declined = client.post(f"/pay/{session.token}", {**CARD, "card_number": "4000 0000 0000 0002"})
    assert declined.status_code == 402  # the page again, what was typed kept

    assert len(_confirm(client, session)) == BUDGET

    assert list(Event.objects.filter(checkout_session=session).order_by("sequence")
                .values_list("type", "sequence")) == [(EventType.PAYMENT_FAILED, 1), (EventType.COMPLETED, 2)]
    attempts = list(Payment.objects.filter(checkout_session=session).order_by("created_at")
                    .values_list("status", flat=True))
    assert attempts == [PaymentAttemptStatus.FAILED, PaymentAttemptStatus.SUCCEEDED]


def test_a_customer_on_a_test_clock_gets_a_contract_on_it_in_the_same_statements(client):
    from billing.test_clocks import test_clock_create

    session = priced_session()
    clock = test_clock_create(organization_id=session.organization_id, customer_id=session.customer_id)

    assert len(_confirm(client, session)) == BUDGET  # the clock is read with the session's lock

    assert Contract.objects.get().test_clock_id == clock.pk
