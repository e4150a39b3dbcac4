import datetime

import pytest
from django.db import IntegrityError, transaction

from checkout.tokens import session_token_new
from tests.billing.factories import PlanItemFactory
from tests.checkout.factories import CheckoutSessionFactory, PaymentFactory


def test_session_token_is_unguessable():
    tokens = {session_token_new() for _ in range(1000)}
    assert len(tokens) == 1000
    token = next(iter(tokens))
    # "cs_" + 32 random bytes in URL-safe base64: 256 bits, far above the 128 required.
    assert token.startswith("cs_") and len(token) == 3 + 43


@pytest.mark.django_db
def test_session_token_unique_constraint():
    first = CheckoutSessionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckoutSessionFactory(token=first.token)


@pytest.mark.django_db
def test_session_end_date_must_follow_start_date():
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckoutSessionFactory(start_date=datetime.date(2026, 3, 1), end_date=datetime.date(2026, 3, 1))


@pytest.mark.django_db
def test_session_needs_customer_unless_guest():
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckoutSessionFactory(customer=None, guest_checkout=False)
    CheckoutSessionFactory(customer=None, guest_checkout=True, customer_details={"customer_name": "G"})


@pytest.mark.django_db
def test_session_status_must_be_known():
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckoutSessionFactory(status="paused")


@pytest.mark.django_db
def test_only_one_live_payment_per_session():
    payment = PaymentFactory(status="pending")
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentFactory(checkout_session=payment.checkout_session, status="succeeded")
    PaymentFactory(checkout_session=payment.checkout_session, status="failed")


@pytest.mark.django_db
def test_plan_item_default_quantity_within_bounds():
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanItemFactory(default_quantity=11, min_quantity=1, max_quantity=10)
