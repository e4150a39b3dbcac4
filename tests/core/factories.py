import factory

from core.models import ApiKey, BusinessEntity, Organization
from core.services import api_key_hash, api_key_split


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Merchant {n}")


class BusinessEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessEntity

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.LazyAttribute(lambda o: f"{o.organization.name} Ltd")
    email = "billing@merchant.example"
    address = {"line1": "1 Market St", "city": "San Francisco", "state": "CA", "zip_code": "94105", "country": "US"}
    default_currency = "USD"
    tax_rate = None
    allow_invoice_payment = True
    is_default = True


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """A key row whose secret is ``sk_test_<n padded>`` + "k"*32 (tests that need to
    present a key use ``core.services.api_key_create`` or the ``api_client`` fixture)."""

    class Meta:
        model = ApiKey

    organization = factory.SubFactory(OrganizationFactory)
    livemode = False
    prefix = factory.Sequence(lambda n: api_key_split(f"sk_test_{n:08d}" + "k" * 32))
    key_hash = factory.Sequence(lambda n: api_key_hash(f"sk_test_{n:08d}" + "k" * 32))
