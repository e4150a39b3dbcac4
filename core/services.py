"""Merchant-level writes: organizations, API keys, business entities."""

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from .models import ApiKey, BusinessEntity, Organization

KEY_PREFIX_LEN = 8  # random characters kept in clear after "sk_test_"/"sk_live_"


def api_key_hash(raw_key: str) -> str:
    # Keys carry 190+ bits of entropy, so a fast hash is enough (no salt/KDF needed).
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_split(raw_key: str) -> str | None:
    """The stored lookup prefix of a presented key, or None if it is not key-shaped."""
    for head in ("sk_test_", "sk_live_"):
        if raw_key.startswith(head) and len(raw_key) >= len(head) + 32:
            return raw_key[: len(head) + KEY_PREFIX_LEN]
    return None


@transaction.atomic
def api_key_create(*, organization: Organization, livemode: bool = False, name: str = "") -> tuple[ApiKey, str]:
    """Mint a key. Returns the row and the full secret, which is never stored."""
    raw = ("sk_live_" if livemode else "sk_test_") + secrets.token_urlsafe(32).replace("-", "x").replace("_", "y")
    key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=api_key_split(raw),
        key_hash=api_key_hash(raw),
        livemode=livemode,
    )
    return key, raw


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key`` (with its organization), or None.

    Looked up by prefix, then compared in constant time.
    """
    prefix = api_key_split(raw_key or "")
    if prefix is None:
        return None
    key = (
        ApiKey.objects.select_related("organization")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.key_hash, api_key_hash(raw_key)):
        return None
    return key


def api_key_revoke(*, api_key_id) -> ApiKey:
    ApiKey.objects.filter(pk=api_key_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return ApiKey.objects.get(pk=api_key_id)


@transaction.atomic
def organization_get_or_create(*, name: str) -> tuple[Organization, BusinessEntity, bool]:
    """The organization named ``name`` and its default business entity."""
    org, created = Organization.objects.get_or_create(name=name)
    entity = BusinessEntity.objects.filter(organization=org, is_default=True).first()
    if entity is None:
        entity = BusinessEntity.objects.create(
            organization=org, name=f"{name} Inc.", is_default=True, default_currency="USD"
        )
    return org, entity, created
