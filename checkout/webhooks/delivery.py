"""Webhook deliveries: each one POSTed, signed, and retried with exponential backoff and
jitter until it succeeds or the retry window (3 days by default) has passed. Every attempt
is recorded, and an endpoint that only fails for ``ENDPOINT_DISABLE_AFTER`` is paused.

A delivery's next attempt time lives in the database: the periodic
``webhook_deliveries_retry_due`` picks up whatever a lost or unsent task left behind.
Attempts claim their delivery under a row lock first, so a duplicate task is a no-op; the
claim commits before the HTTP request, so no transaction stays open across the network.
Deliveries go to public addresses only (``core.outbound``).

Signature headers (see the README for the merchant-side check): Standard Webhooks'
``webhook-id``/``webhook-timestamp``/``webhook-signature``, and for one release::

    Checkout-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from checkout import effects
from checkout.effects import tasks_run_inline
from checkout.enums import DeliveryStatus
from checkout.errors import WebhookDeliveryNotFound
from checkout.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.outbound import BlockedDestination, public_opener

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Checkout-Signature"
SIGNATURE_VERSION = "v1"
USER_AGENT = "Checkout-Webhooks/1.0"
REQUEST_TIMEOUT_SECONDS = 10
EXCERPT_CHARS = 1000
# A later event of a session waits this long, again and again, while an earlier one is still
# being delivered to the same endpoint.
ORDER_HOLD_SECONDS = 30
HELD = "held"
# An endpoint that answers nothing but failures this long is paused.
ENDPOINT_DISABLE_AFTER = timedelta(days=3)
# Retries due within this many seconds are queued with a countdown; later ones wait in
# the database for ``webhook_deliveries_retry_due`` (a broker holds an unacked ETA task
# only for its visibility timeout).
COUNTDOWN_MAX_SECONDS = 600
# How long an attempt holds its claim on a delivery: longer than the request timeout.
CLAIM_SECONDS = REQUEST_TIMEOUT_SECONDS + 50


# --- retry schedule --------------------------------------------------------------

def _retry_base_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 30))


def _retry_max_delay_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_RETRY_MAX_DELAY_SECONDS", 6 * 3600))


def _retry_window() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "WEBHOOK_RETRY_WINDOW_SECONDS", 3 * 24 * 3600)))


def webhook_retry_delay(attempt_count: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempt_count``-th failed attempt.

    Doubles from the base (30 s, 1 min, 2 min, … capped at 6 h) with ±20 % jitter, so
    endpoints that failed together do not all come back at the same instant; with a
    doubling factor the jitter never makes a delay shorter than the one before.
    """
    rng = rng or random
    exponent = max(attempt_count - 1, 0)
    delay = min(_retry_base_seconds() * (2 ** min(exponent, 32)), _retry_max_delay_seconds())
    return delay * rng.uniform(0.8, 1.2)

# --- queueing -----------------------------------------------------------------------

def deliveries_queue(delivery_ids, countdown: float | None = None) -> None:
    """Queue an attempt for each of ``delivery_ids`` (after ``countdown`` seconds)."""
    # In eager mode a send would run inside the web request that caused it, and an
    # unreachable endpoint would hold that request for the whole timeout: deliveries wait
    # in the database for `manage.py send_webhooks` instead.
    if not delivery_ids or tasks_run_inline():
        return
    for delivery_id in delivery_ids:
        effects.effect_enqueue(effects.WEBHOOK_DELIVERY_ATTEMPT, delivery_id=str(delivery_id), countdown=countdown)


# --- delivery attempts ------------------------------------------------------------------

def event_envelope(event: Event) -> dict:
    """The JSON body a merchant receives for ``event``."""
    return {
        "id": str(event.id),
        "object": "event",
        "type": event.type,
        "livemode": event.livemode,
        "created": int(event.created_at.timestamp()),
        "sequence": event.sequence,
        "data": event.payload,
    }


def event_body(event: Event) -> bytes:
    # The same bytes on every attempt: only the signature's timestamp changes.
    return json.dumps(event_envelope(event), separators=(",", ":"), sort_keys=True).encode()


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The ``Checkout-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SIGNATURE_VERSION}={mac}"


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The endpoint's secret and, during the grace period after a roll, the one before it."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def standard_webhook_key(secret: str) -> bytes | None:
    """The HMAC key of a ``whsec_<base64>`` secret, as the Standard Webhooks specification
    defines it. None for secrets made before it (URL-safe text, not base64): rolling the
    secret gives one that signs both ways."""
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def standard_webhook_headers(*, endpoint: WebhookEndpoint, message_id: str, timestamp: int, body: bytes,
                             now: datetime) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of
    "id.timestamp.body">`` (one per valid secret, space-separated), per Standard Webhooks; empty
    when no secret of the endpoint is a Standard Webhooks one."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    signatures = [
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for key in (standard_webhook_key(secret) for secret in _signing_secrets(endpoint, now)) if key
    ]
    if not signatures:
        return {}
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": " ".join(signatures)}


def webhook_signature_header(*, endpoint: WebhookEndpoint, timestamp: int, body: bytes, now: datetime) -> str:
    """The header for a delivery to ``endpoint``: signed with its secret and, during the
    grace period after a roll, with the previous one too (``t=…,v1=<new>,v1=<old>``)."""
    current, *previous = _signing_secrets(endpoint, now)
    header = webhook_signature(secret=current, timestamp=timestamp, body=body)
    for secret in previous:
        header += "," + webhook_signature(secret=secret, timestamp=timestamp, body=body).split(",", 1)[1]
    return header


@dataclass(frozen=True)
class _Response:
    status: int | None
    latency_ms: int
    excerpt: str = ""
    error: str = ""
    permanent: bool = False  # no point retrying

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A 3xx is an answer, not an instruction: following it would re-send a signed body
    # somewhere the merchant did not register (and urllib would turn the POST into a GET).
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)
_public_opener = public_opener(_NoRedirects)


def _excerpt(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def _post(url: str, body: bytes, headers: dict[str, str]) -> _Response:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return _Response(None, 0, error="blocked: only http and https URLs are delivered", permanent=True)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    opener = _opener if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS else _public_opener
    try:
        with opener.open(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            raw = response.read(4 * EXCERPT_CHARS)
            return _Response(response.status, elapsed(), _excerpt(raw))
    except urllib.error.HTTPError as exc:  # a non-2xx answer
        try:
            raw = exc.read(4 * EXCERPT_CHARS)
        except (OSError, http.client.HTTPException):
            raw = b""
        return _Response(exc.code, elapsed(), _excerpt(raw))
    except TimeoutError:
        return _Response(None, elapsed(), error=f"timed out after {REQUEST_TIMEOUT_SECONDS} s")
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, BlockedDestination):  # not worth retrying: fix the URL
            return _Response(None, elapsed(), error=f"blocked: {exc.reason}"[:300], permanent=True)
        return _Response(None, elapsed(), error=f"connection failed: {exc.reason}"[:300])
    except (OSError, ValueError, http.client.HTTPException) as exc:  # resets, bad status lines, …
        return _Response(None, elapsed(), error=f"{type(exc).__name__}: {exc}"[:300])


def _earlier_delivery_pending(delivery: WebhookDelivery) -> bool:
    """Whether an earlier event of the same session (or, for billing's events, the same object)
    still waits to reach this endpoint: a later one is held back meanwhile, so a receiver never
    sees `completed` before `processing`, or `invoice.paid` before `invoice.created`. Reads the
    session's (object's) few events (event_sequence_unique, event_object_sequence_unique), then the
    (endpoint, event) index."""
    event = delivery.event
    stream = ({"checkout_session_id": event.checkout_session_id} if event.checkout_session_id is not None
              else {"checkout_session__isnull": True, "object_id": event.object_id})
    earlier = Event.objects.filter(**stream, sequence__lt=event.sequence).values("id")
    return WebhookDelivery.objects.filter(endpoint_id=delivery.endpoint_id, status=DeliveryStatus.PENDING,
                                          event_id__in=earlier).exists()


def webhook_delivery_attempt(*, delivery_id) -> str | None:
    """Make one attempt at a pending, due delivery. Returns the delivery's status after
    it, or None if there was nothing to do (already delivered, not due, claimed by a
    concurrent attempt, deleted).

    The claim (row lock, attempt counted, next attempt pushed past the request timeout)
    commits before the HTTP request, so no transaction stays open across the network
    and a duplicate task finds the delivery not due.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "event")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        if _earlier_delivery_pending(delivery):
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                next_attempt_at=now + timedelta(seconds=ORDER_HOLD_SECONDS), updated_at=now)
            transaction.on_commit(lambda: deliveries_queue([delivery.id], countdown=ORDER_HOLD_SECONDS))
            return HELD
        delivery.attempt_count += 1
        delivery.next_attempt_at = now + timedelta(seconds=CLAIM_SECONDS)
        delivery.save(update_fields=["attempt_count", "next_attempt_at", "updated_at"])
    endpoint, event = delivery.endpoint, delivery.event

    if not endpoint.is_active:
        response = _Response(None, 0, error="endpoint disabled", permanent=True)
    else:
        body = event_body(event)
        timestamp, signed_at = int(time.time()), timezone.now()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            # Kept alongside the Standard Webhooks headers for one release.
            SIGNATURE_HEADER: webhook_signature_header(endpoint=endpoint, timestamp=timestamp, body=body,
                                                       now=signed_at),
            **standard_webhook_headers(endpoint=endpoint, message_id=str(event.id), timestamp=timestamp,
                                       body=body, now=signed_at),
            "Checkout-Event-Id": str(event.id),
            "Checkout-Event-Type": event.type,
            "Checkout-Delivery-Id": str(delivery.id),
            "Checkout-Delivery-Attempt": str(delivery.attempt_count),
        }
        response = _post(endpoint.url, body, headers)
    return _attempt_record(delivery, response)


@transaction.atomic
def _attempt_record(delivery: WebhookDelivery, response: _Response) -> str:
    done = timezone.now()
    WebhookAttempt.objects.create(
        delivery_id=delivery.id,
        response_status=response.status,
        latency_ms=response.latency_ms,
        response_excerpt=response.excerpt,
        error=response.error[:300],
    )
    pending = WebhookDelivery.objects.filter(pk=delivery.id, status=DeliveryStatus.PENDING)
    endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
    if response.ok:
        pending.update(status=DeliveryStatus.SUCCEEDED, delivered_at=done, next_attempt_at=None, updated_at=done)
        endpoints.update(failing_since=None, last_success_at=done)
        _next_in_order_release(delivery, done)
        return DeliveryStatus.SUCCEEDED
    _endpoint_failure_record(delivery.endpoint_id, done)
    delay = webhook_retry_delay(delivery.attempt_count)
    next_at = done + timedelta(seconds=delay)
    if response.permanent or next_at > delivery.created_at + _retry_window():
        pending.update(status=DeliveryStatus.FAILED, next_attempt_at=None, updated_at=done)
        logger.warning("gave up on webhook delivery %s after %d attempts", delivery.id, delivery.attempt_count)
        _next_in_order_release(delivery, done)
        return DeliveryStatus.FAILED
    pending.update(next_attempt_at=next_at, updated_at=done)
    if delay <= COUNTDOWN_MAX_SECONDS:
        transaction.on_commit(lambda: deliveries_queue([delivery.id], countdown=delay))
    return DeliveryStatus.PENDING


def _next_in_order_release(delivery: WebhookDelivery, now: datetime) -> None:
    """The delivery is done (delivered, or given up): the next event of its session (object)
    held back behind it for this endpoint goes now, not at its hold's end (up to
    ORDER_HOLD_SECONDS later). Only a held one, never attempted: a later delivery already in
    its retry backoff keeps its schedule."""
    event = delivery.event
    stream = ({"event__checkout_session_id": event.checkout_session_id} if event.checkout_session_id is not None
              else {"event__checkout_session__isnull": True, "event__object_id": event.object_id})
    following = (WebhookDelivery.objects.filter(endpoint_id=delivery.endpoint_id, status=DeliveryStatus.PENDING,
                                                event__sequence__gt=event.sequence, **stream)
                 .order_by("event__sequence").values_list("id", "attempt_count").first())
    if following is None or following[1]:
        return  # none, or retrying on its own schedule
    next_id = following[0]
    # A hold committed meanwhile is overridden (the row lock orders the two); a duplicate task
    # for an already-due delivery finds it claimed or not due, and does nothing.
    if WebhookDelivery.objects.filter(pk=next_id, status=DeliveryStatus.PENDING, attempt_count=0).update(
            next_attempt_at=now, updated_at=now):
        transaction.on_commit(lambda: deliveries_queue([next_id]))


def _endpoint_failure_record(endpoint_id, now: datetime) -> None:
    """A failed attempt: start the endpoint's failing streak, or pause the endpoint once it has
    failed without a single success for ENDPOINT_DISABLE_AFTER (the merchant re-enables it)."""
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint_id)
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    since = now - ENDPOINT_DISABLE_AFTER
    disabled = endpoints.filter(is_active=True, failing_since__lte=since).update(
        is_active=False, updated_at=now,
        disabled_reason=f"Paused on {now:%Y-%m-%d %H:%M} UTC: every delivery failed for "
                        f"{ENDPOINT_DISABLE_AFTER.days} days. Fix the receiver, then re-enable it.")
    if disabled:
        logger.warning("webhook endpoint %s paused after failing for %s", endpoint_id, ENDPOINT_DISABLE_AFTER)


def _deliveries_due_ids(*, now: datetime, limit: int) -> list:
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )


def webhook_deliveries_retry_due(*, limit: int = 1000) -> int:
    """Queue an attempt for every pending delivery whose time has come (retries beyond
    the countdown horizon, sends lost to a broker outage). Returns how many."""
    ids = _deliveries_due_ids(now=timezone.now(), limit=limit)
    deliveries_queue(ids)
    return len(ids)


def webhook_deliveries_send_due(*, limit: int = 1000) -> dict[str, int]:
    """Attempt every due delivery in this process (``manage.py send_webhooks``, for the
    embedded default without a worker). Returns counts by outcome."""
    outcomes: dict[str, int] = defaultdict(int)
    for delivery_id in _deliveries_due_ids(now=timezone.now(), limit=limit):
        outcomes[webhook_delivery_attempt(delivery_id=delivery_id) or "skipped"] += 1
    return dict(outcomes)


@transaction.atomic
def webhook_delivery_resend(*, delivery_id) -> WebhookDelivery:
    """Ops: send a delivery again now, whatever became of it. A failure after the retry
    window has passed gives up again at once rather than starting a new series."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise WebhookDeliveryNotFound()
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
    transaction.on_commit(lambda: deliveries_queue([delivery.id]))
    return delivery
