import inspect
import os

import pytest
from django.conf import settings

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

# --- pytest-xdist: each worker its own Redis keys --------------------------------------------
# pytest-django gives each worker its own database (test_<name>_gw0, …); TEST_REDIS_URL's one
# database is shared, so each worker's cache keys and Celery queues carry its id as a prefix,
# and the cache's clear() (every API test starts with fresh rate-limit windows) deletes only its
# own keys instead of FLUSHDB. Set before anything touches the cache or the broker.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if XDIST_WORKER and settings.REDIS_URL:
    from config.celery import app as _celery_app

    settings.CACHES["default"].update(BACKEND="tests.helpers.WorkerRedisCache", KEY_PREFIX=XDIST_WORKER)
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                                                "global_keyprefix": f"{XDIST_WORKER}:"}
    _celery_app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS


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
def stripe_double(localstripe, stripe_mode, settings):
    """The server side of Stripe behind ``tests.stripe_double`` (idempotency rules, lost answers,
    refused amounts); Stripe.js on the page still talks to localstripe."""
    from tests.stripe_double import StripeDouble

    double = StripeDouble(upstream_port=localstripe.port).start()
    settings.STRIPE_API_BASE = double.base
    yield double
    double.stop()


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


# --- schemathesis: build each operation's test when it runs, not when it is collected ------------
# ``schema.parametrize()`` builds every operation's Hypothesis test at collection, and building
# one generates its whole coverage phase (every boundary and negative case of every field): 30
# of the suite's 36 s of collection, paid again by every xdist worker. Building the same test on
# its first call keeps the items, ids, examples and checks as they were.


def _build_operation_test_lazily(**kwargs):
    test_func = kwargs["test_func"]
    built = None

    def run(*args, **call_kwargs):
        nonlocal built
        if built is None:
            built = _build_operation_test(**kwargs)
            # schemathesis' pytest hooks read their marks (the operation, unsatisfiable examples…)
            # from the item's function once it has run.
            run.__dict__.update({k: v for k, v in vars(built).items() if k not in vars(run)})
        return built(*args, **call_kwargs)

    for name in ("__name__", "__qualname__", "__module__", "__doc__"):
        setattr(run, name, getattr(test_func, name))
    if hasattr(test_func, "pytestmark"):
        run.pytestmark = test_func.pytestmark  # django_db and the like
    signature = inspect.signature(test_func)
    run.__signature__ = signature.replace(
        parameters=[p for p in signature.parameters.values() if p.name != "case"])
    return run


def _lazy_schemathesis():
    from schemathesis.pytest import _test_builder

    global _build_operation_test
    if _test_builder.build_operation_test is not _build_operation_test_lazily:
        _build_operation_test = _test_builder.build_operation_test
        _test_builder.build_operation_test = _build_operation_test_lazily


_build_operation_test = None
_lazy_schemathesis()


# --- long tests first -----------------------------------------------------------------------------
# pytest-xdist hands tests out in collection order. Started last, a 60 s schemathesis operation
# runs alone while the other worker idles; started first, the many short tests fill in around
# it. Stable: within each group the order is the files' own.


def _is_schemathesis(item) -> bool:
    return type(item).__name__ == "SchemathesisFunction"


def _weight(item) -> int:
    if _is_schemathesis(item):
        return 0
    if item.get_closest_marker("slow") or getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
        return 1
    return 2


def pytest_collection_modifyitems(config, items):
    for item in items:
        # schemathesis (4.32, on pytest 9) gives every operation's item the function's node id;
        # the operation in it tells the ten slowest (and a failure) apart.
        if _is_schemathesis(item) and not item.nodeid.endswith("]"):
            item._id = item.parent.id.child(item.name)
    items.sort(key=_weight)
