import pytest
from django.db import IntegrityError, transaction

from tests.core.factories import BusinessEntityFactory


@pytest.mark.django_db
def test_business_entity_one_default_per_organization(organization, business_entity):
    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessEntityFactory(organization=organization, is_default=True)
    BusinessEntityFactory(organization=organization, is_default=False)


@pytest.mark.django_db
def test_business_entity_tax_rate_bounded(organization):
    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessEntityFactory(organization=organization, is_default=False, tax_rate=101)
