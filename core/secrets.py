"""Secrets stored encrypted at rest (payment provider keys): Fernet (AES-128-CBC + HMAC-SHA256)
from the `cryptography` package, keyed by PAYMENT_SECRETS_KEY, or, when that is not set, by a
key derived from SECRET_KEY (rotating SECRET_KEY then makes stored secrets unreadable: set
PAYMENT_SECRETS_KEY in production). The plaintext is never logged or shown again."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@cache
def _fernet(key_material: str) -> Fernet:
    if settings.PAYMENT_SECRETS_KEY:
        return Fernet(settings.PAYMENT_SECRETS_KEY.encode())
    digest = hashlib.sha256(b"checkout.payment-secrets:" + key_material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _current() -> Fernet:
    return _fernet(settings.PAYMENT_SECRETS_KEY or settings.SECRET_KEY)


def secret_encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode() if plaintext else ""


def secret_decrypt(token: str) -> str:
    """The plaintext, or "" for an empty or unreadable token (a rotated key)."""
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""
