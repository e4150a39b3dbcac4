import factory

from customers.models import Customer
from tests.core.factories import BusinessEntityFactory, OrganizationFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    business_entity = factory.SubFactory(
        BusinessEntityFactory, organization=factory.SelfAttribute("..organization"), is_default=False
    )
    customer_name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone_number = "+14155550100"
    address = {"line1": "2 Main St", "city": "Austin", "state": "TX", "zip_code": "73301", "country": "US"}
