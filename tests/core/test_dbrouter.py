"""core/dbrouter.py without a replica: nothing changes (the demo and this suite run so)."""

import pytest
from django.conf import settings
from django.db import router

from checkout.models import CheckoutSession
from core.dbrouter import primary_sticky, primary_sticky_mark, replica_reads


def test_no_replica_configured_no_router():
    assert "replica" not in settings.DATABASES
    assert settings.DATABASE_ROUTERS == []
    assert router.db_for_read(CheckoutSession) == "default"


@pytest.mark.django_db
def test_replica_reads_without_replica_reads_default(api_client, organization):
    calls = []

    @replica_reads
    def view(request):
        calls.append(router.db_for_read(CheckoutSession))
        return "answer"

    assert view(object()) == "answer"
    assert calls == ["default"]
    primary_sticky_mark(organization.pk)  # a no-op without a replica: nothing written
    assert primary_sticky(organization.pk) is False
    answer = api_client.get("/api/v1/checkout-sessions")
    assert answer.status_code == 200
    assert answer.json()["data"] == []
