"""Merchant API authentication: ``Authorization: Bearer sk_test_…`` / ``sk_live_…``.

``request.auth`` is the ``ApiKey`` (with its organization loaded); ``request.user`` stays
None: API callers are merchants' servers, not Django users.
"""

import copy
import datetime
import time

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from .breaker import CircuitBreaker
from .db import JoinedRowLoader
from .lru import LocalLru
from .models import ApiKey
from .ratelimit import window_count, window_peek
from .services import api_key_authenticate, api_key_hash

# Writing last_used_at costs a query; once a minute is precise enough for ops.
LAST_USED_RESOLUTION = datetime.timedelta(seconds=60)


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None  # the permission answers 401 authentication_required
        try:
            return self._authenticate(header)
        except exceptions.AuthenticationFailed:
            # Checked after the key, so a key that verifies is never blocked: a merchant sharing
            # an egress address with someone guessing keys keeps working. Guessing gains nothing
            # from that (keys carry 190+ bits), and a blocked address's failures answer 429.
            address = client_address(request)
            wait = auth_failures_blocked(address)
            if wait:
                raise exceptions.Throttled(wait, "Too many failed authentications from this address.") from None
            auth_failure_record(address)
            raise

    def _authenticate(self, header):
        if header[0].lower() != self.keyword.lower().encode():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <secret API key>'.")
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Bearer <secret API key>'."
            )
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None

        key = api_key_verify(raw_key)
        if key is None:
            # Unknown, malformed and revoked keys answer alike: nothing to probe.
            raise exceptions.AuthenticationFailed("Invalid API key.")
        api_key_touch(key)
        return (None, key)

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) with a WWW-Authenticate challenge.
        return 'Bearer realm="api"'


# Keys core.services.api_key_authenticate verified, by the SHA-256 of the presented secret. A
# hit still costs a query, a lean one that re-reads revocation, so a revoked or deleted key is
# refused on its very next request; it saves the ORM look-up, which was the most expensive step
# of a create (~0.7 ms of CPU, measured). Looking digests up in a dict leaks nothing useful
# through timing: an attacker controls the secret, not its digest.
_verified = LocalLru(size=1024)
_KEY_STATE = JoinedRowLoader(ApiKey, by=("id",), fields=("revoked_at", "last_used_at"))


def api_key_verify(raw_key: str) -> ApiKey | None:
    """The active key for ``raw_key`` (a fresh copy per call), or None."""
    digest = api_key_hash(raw_key)
    known = _verified.get(digest)
    if known is None:
        key = api_key_authenticate(raw_key)
        if key is not None:
            _verified.put(digest, copy.copy(key))
        return key
    row = _KEY_STATE.values(known.pk)
    if row is None or row[0] is not None:
        _verified.pop(digest)
        return None
    key = copy.copy(known)
    key.last_used_at = row[1]
    return key


def api_key_touch(key: ApiKey, *, now: datetime.datetime | None = None) -> None:
    """Record use, at most once per ``LAST_USED_RESOLUTION`` per key (the guard in the
    WHERE clause keeps concurrent workers from all writing)."""
    now = now or timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=key.pk
    ).update(last_used_at=now)
    key.last_used_at = now


# --- brute force: failed authentications per client address ----------------------------------
# A fixed window per address (API_AUTH_FAILURE_WINDOW_SECONDS); past API_AUTH_FAILURE_LIMIT
# failures the address is answered 429 until the window ends. A cache outage never blocks
# anyone: the limiter steps aside for a few seconds ("fails open").
breaker = CircuitBreaker("auth failure limiter", meanwhile="allowing requests")


def client_address(request) -> str:
    """The caller's address: REMOTE_ADDR, or with ``TRUSTED_PROXY_COUNT`` proxies in front, the
    address the outermost trusted proxy saw (X-Forwarded-For, counted from the right)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _failure_window_key(address: str) -> tuple[str, float]:
    window_seconds = settings.API_AUTH_FAILURE_WINDOW_SECONDS
    now = time.time()
    window = int(now // window_seconds) * window_seconds
    return f"rl:auth-failures:{address}:{window}", window + window_seconds - now


def _limiter(action):
    if not settings.API_AUTH_FAILURE_LIMIT:
        return None
    return breaker.call(action)


def auth_failures_blocked(address: str) -> float:
    """Seconds until ``address`` may try again (0: it may now)."""
    key, remaining = _failure_window_key(address)
    count = _limiter(lambda: window_peek(key))
    return remaining if count is not None and count >= settings.API_AUTH_FAILURE_LIMIT else 0


def auth_failure_record(address: str) -> None:
    key, remaining = _failure_window_key(address)
    _limiter(lambda: window_count(key, ttl=int(remaining) + 5))


class HasApiKey(BasePermission):
    """Only requests authenticated with a secret API key."""

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiKey)
