import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from billing.enums import PaymentAttemptStatus, PaymentMethod
from billing.models import Payment
from checkout.enums import CheckoutType, DeliveryStatus, EventType, PaymentStatus, SessionStatus
from checkout.models import (
    CheckoutSession,
    Event,
    IdempotencyRecord,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from checkout.sessions.events import session_event_data
from checkout.tokens import session_token_new, webhook_secret_new
from tests.billing.factories import PlanFactory
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory


class CheckoutSessionFactory(factory.django.DjangoModelFactory):
    """An open new-contract session for an existing customer, due in 24 hours.

    ``estimates``/``quote`` are empty unless given: tests of priced flows build them
    with the pricing engine.
    """

    class Meta:
        model = CheckoutSession

    organization = factory.SubFactory(OrganizationFactory)
    checkout_type = CheckoutType.NEW_CONTRACT
    status = SessionStatus.OPEN
    payment_status = PaymentStatus.NOT_STARTED
    token = factory.LazyFunction(session_token_new)
    business_entity = factory.SubFactory(
        BusinessEntityFactory, organization=factory.SelfAttribute("..organization"), is_default=False
    )
    customer = factory.SubFactory(
        CustomerFactory,
        organization=factory.SelfAttribute("..organization"),
        business_entity=factory.SelfAttribute("..business_entity"),
    )
    plan = factory.SubFactory(PlanFactory, organization=factory.SelfAttribute("..organization"))
    guest_checkout = False
    currency = "USD"
    start_date = datetime.date(2026, 1, 15)
    success_url = "https://merchant.example/success?session={CHECKOUT_SESSION_ID}"
    cancel_url = "https://merchant.example/cancel"
    pending_url = "https://merchant.example/pending"
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(hours=24))


class IdempotencyRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdempotencyRecord

    organization = factory.SubFactory(OrganizationFactory)
    key = factory.Sequence(lambda n: f"idem-{n}")
    request_fingerprint = "0" * 64


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    checkout_session = factory.SubFactory(CheckoutSessionFactory)
    organization = factory.SelfAttribute("checkout_session.organization")
    method = PaymentMethod.CARD
    status = PaymentAttemptStatus.SUCCEEDED
    amount = Decimal("10.00")
    currency = "USD"
    card_last4 = "4242"


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    checkout_session = factory.SubFactory(CheckoutSessionFactory)
    organization = factory.SelfAttribute("checkout_session.organization")
    type = EventType.COMPLETED
    sequence = factory.Sequence(lambda n: n + 1)
    payload = factory.LazyAttribute(lambda o: session_event_data(o.checkout_session))


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    organization = factory.SubFactory(OrganizationFactory)
    url = "https://merchant.example/webhooks"
    secret = factory.LazyFunction(webhook_secret_new)
    enabled_events = factory.LazyFunction(list)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event = factory.SubFactory(EventFactory, organization=factory.SelfAttribute("..endpoint.organization"),
                               checkout_session__organization=factory.SelfAttribute("...endpoint.organization"))
    status = DeliveryStatus.PENDING
    next_attempt_at = factory.LazyFunction(timezone.now)


class WebhookAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookAttempt

    delivery = factory.SubFactory(WebhookDeliveryFactory)
    response_status = 200
    latency_ms = 12


def checkout_session_created_at(created_at: datetime.datetime, **fields) -> CheckoutSession:
    """A session (``CheckoutSessionFactory`` with ``fields``) created at ``created_at``, which
    ``auto_now_add`` would otherwise overwrite; due 24 hours later unless ``expires_at`` says."""
    fields.setdefault("expires_at", created_at + datetime.timedelta(hours=24))
    session = CheckoutSessionFactory(**fields)
    CheckoutSession.objects.filter(pk=session.pk).update(created_at=created_at)
    session.created_at = created_at
    return session
