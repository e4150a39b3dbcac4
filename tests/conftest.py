
import pytest

from core.services import api_key_create
from tests.billing.factories import (
    ContractFactory,
    PhaseFactory,
    PhaseItemFactory,
    PlanFactory,
    PlanItemFactory,
    PricingFactory,
    ProductFactory,
)
from tests.checkout.factories import CheckoutSessionFactory, WebhookEndpointFactory
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import api_client_with_key
from tests.receiver import Receiver


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def business_entity(organization):
    return BusinessEntityFactory(organization=organization)


@pytest.fixture
def customer(organization, business_entity):
    return CustomerFactory(organization=organization, business_entity=business_entity)


@pytest.fixture
def api_key(organization):
    """(ApiKey row, raw secret) for ``organization``."""
    return api_key_create(organization=organization)


@pytest.fixture
def api_client(api_key):
    return api_client_with_key(api_key[1])


@pytest.fixture
def ops_client(client, django_user_model):
    """The Django test client logged in as ``ops``, a superuser (the admin's ops screens)."""
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(name="Other merchant")


# Factories as fixtures, for tests that prefer injection.
@pytest.fixture
def organization_factory(db):
    return OrganizationFactory


@pytest.fixture
def customer_factory(db):
    return CustomerFactory


@pytest.fixture
def product_factory(db):
    return ProductFactory


@pytest.fixture
def pricing_factory(db):
    return PricingFactory


@pytest.fixture
def plan_factory(db):
    return PlanFactory


@pytest.fixture
def plan_item_factory(db):
    return PlanItemFactory


@pytest.fixture
def contract_factory(db):
    return ContractFactory


@pytest.fixture
def phase_factory(db):
    return PhaseFactory


@pytest.fixture
def phase_item_factory(db):
    return PhaseItemFactory


@pytest.fixture
def checkout_session_factory(db):
    return CheckoutSessionFactory


@pytest.fixture
def webhook_endpoint_factory(db):
    return WebhookEndpointFactory


@pytest.fixture(autouse=True)
def _broker_breaker_closed():
    """Each test starts with the enqueue circuit breaker closed (core.queue)."""
    from core import queue

    queue.broker.reset()


@pytest.fixture(scope="session")
def localstripe():
    from tests.stripe_helpers import localstripe_start

    server = localstripe_start()
    yield server
    server.process.kill()
    server.process.wait()


@pytest.fixture
def stripe_mode(localstripe, settings):
    """Point the SDK and the page's Stripe.js at localstripe; returns a function that switches
    an organization's test mode to Stripe."""
    from billing.payment_settings import payment_settings_save
    from tests.stripe_helpers import WEBHOOK_SECRET

    settings.STRIPE_API_BASE = localstripe.base
    settings.STRIPE_JS_URL = localstripe.js_url

    def enable(organization, *, livemode=False):
        mode = "live" if livemode else "test"
        return payment_settings_save(organization_id=organization.pk, livemode=livemode, provider="stripe",
                                     publishable_key=f"pk_{mode}_local", secret_key=f"sk_{mode}_local",
                                     webhook_secret=WEBHOOK_SECRET)

    return enable


@pytest.fixture
def receiver():
    """A webhook receiver on a loopback port (see ``tests.receiver.Receiver``)."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _limiter_circuits_closed():
    """The create throttle and the auth-failure limiter step aside for a few seconds after a
    cache error (module state): one test's dead cache must not switch them off for the next."""
    from checkout.api import throttling
    from core import authentication

    throttling.breaker.reset()
    authentication.breaker.reset()
    yield
    throttling.breaker.reset()
    authentication.breaker.reset()
