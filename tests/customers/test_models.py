import pytest
from django.db import IntegrityError, transaction

from tests.customers.factories import CustomerFactory


@pytest.mark.django_db
def test_customer_email_unique_per_organization_case_insensitive(organization, business_entity):
    CustomerFactory(organization=organization, business_entity=business_entity, email="Ada@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(organization=organization, business_entity=business_entity, email="ada@example.com")


@pytest.mark.django_db
def test_customer_same_email_allowed_in_another_organization(organization, other_organization):
    CustomerFactory(organization=organization, email="ada@example.com")
    CustomerFactory(organization=other_organization, email="ada@example.com")


@pytest.mark.django_db
def test_customers_without_email_do_not_collide(organization, business_entity):
    CustomerFactory(organization=organization, business_entity=business_entity, email=None)
    CustomerFactory(organization=organization, business_entity=business_entity, email=None)


@pytest.mark.django_db
def test_customer_external_id_unique_per_organization(organization, business_entity):
    CustomerFactory(organization=organization, business_entity=business_entity, external_id="crm-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(organization=organization, business_entity=business_entity, external_id="crm-1")
