"""Fixtures for billing's merchant API: a customer with a contract sold as a card checkout sells
it (a saved test card), API clients in test and live mode, and a second tenant."""

import json

import pytest
from django.core.cache import cache

from billing.enums import PaymentProviderName
from billing.gateway import SavedMethod
from billing.payment_methods import saved_payment_method_attach
from tests.billing.renewal_helpers import sell
from tests.core.factories import BusinessEntityFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import api_client_for


class Api:
    """A test-mode (or live) API client of one organization, JSON in and out."""

    def __init__(self, organization, *, livemode=False):
        self.client = api_client_for(organization, livemode=livemode)

    def get(self, path, **params):
        return self.client.get(f"/api/v1{path}", params)

    def post(self, path, body=None, **headers):
        data = "" if body is None else json.dumps(body)
        return self.client.post(f"/api/v1{path}", data=data, content_type="application/json", **headers)


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate-limit and failed-authentication counters live in the cache: fresh windows per test.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(organization):
    return Api(organization)


@pytest.fixture
def live_api(organization):
    return Api(organization, livemode=True)


@pytest.fixture
def rival_api(other_organization):
    return Api(other_organization)


@pytest.fixture
def sold(customer):
    """A monthly $49.00 contract from 31 Jan 2027, first invoice paid, a test card saved as the
    contract's method and the customer's default."""
    return sell(customer)


@pytest.fixture
def rival_customer(other_organization):
    return CustomerFactory(organization=other_organization,
                           business_entity=BusinessEntityFactory(organization=other_organization))


def card_save(customer, *, last4="1881", behaviour="succeeds", livemode=False, make_default=True):
    return saved_payment_method_attach(
        organization_id=customer.organization_id, customer_id=customer.pk, livemode=livemode,
        provider=PaymentProviderName.TEST, saved=SavedMethod(reference=f"pm_test_{behaviour}_{last4}_{livemode}",
                                                             brand="visa", last4=last4),
        mandate_text="By subscribing you authorise Acme to charge this card.", make_default=make_default)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields", "trace_id"}, body
    return body["error"]
