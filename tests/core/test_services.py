import pytest

from core.models import ApiKey
from core.services import api_key_authenticate, api_key_create, api_key_hash, api_key_revoke


@pytest.mark.django_db
def test_api_key_create_never_stores_the_secret(organization):
    key, raw = api_key_create(organization=organization)
    assert raw.startswith("sk_test_") and len(raw) >= 40
    row = ApiKey.objects.get(pk=key.pk)
    stored = [str(getattr(row, f.attname)) for f in ApiKey._meta.concrete_fields]
    assert all(raw not in value for value in stored)
    assert row.key_hash == api_key_hash(raw) and row.prefix == raw[:16]


@pytest.mark.django_db
def test_api_key_create_live_has_live_prefix(organization):
    key, raw = api_key_create(organization=organization, livemode=True)
    assert raw.startswith("sk_live_") and key.livemode is True


@pytest.mark.django_db
def test_api_key_authenticate_accepts_exact_key_only(organization):
    key, raw = api_key_create(organization=organization)
    assert api_key_authenticate(raw).pk == key.pk
    assert api_key_authenticate(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert api_key_authenticate(raw[:16]) is None
    assert api_key_authenticate("Bearer nonsense") is None


@pytest.mark.django_db
def test_api_key_authenticate_refuses_revoked_key(organization):
    key, raw = api_key_create(organization=organization)
    api_key_revoke(api_key_id=key.pk)
    assert api_key_authenticate(raw) is None


@pytest.mark.django_db
def test_api_keys_are_unique_per_call(organization):
    raws = {api_key_create(organization=organization)[1] for _ in range(20)}
    assert len(raws) == 20
