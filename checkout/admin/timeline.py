"""One session, one story: everything that happened to a checkout session, in order (the
session page's timeline). Six queries whatever the session's history: page view, payments,
refunds, events, their deliveries, and the audit log's admin actions."""

import datetime
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from billing.enums import PaymentAttemptStatus
from billing.models import Payment, Refund
from checkout.enums import DeliveryStatus
from checkout.models import CheckoutSession, PageView, WebhookDelivery
from checkout.pages import money
from core.models import AuditEntry


@dataclass(frozen=True)
class Entry:
    at: datetime.datetime
    kind: str  # created | page | payment | event | delivery | admin
    title: str
    detail: str = ""
    outcome: str = ""  # ok | failed | waiting | "" (CSS class of the marker)
    link: str = ""
    link_text: str = ""
    who: str = ""


def duration_words(seconds: float) -> str:
    """"30 s", "4 min", "2 h", "3 d": how long until (or since) something, roughly."""
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


def delivery_state(delivery: WebhookDelivery, now: datetime.datetime | None = None) -> str:
    """What a delivery is doing, in words ops read at a glance: "delivered", "failed" (gave
    up), "queued" (never tried yet), "retrying (next in 30 s)" or "retrying (due now)"."""
    if delivery.status == DeliveryStatus.SUCCEEDED:
        return "delivered"
    if delivery.status == DeliveryStatus.FAILED:
        return "failed"
    if not delivery.attempt_count:
        return "queued"
    now = now or timezone.now()
    if delivery.next_attempt_at is None or delivery.next_attempt_at <= now:
        return "retrying (due now)"
    return f"retrying (next in {duration_words((delivery.next_attempt_at - now).total_seconds())})"


def gateway_link(payment: Payment, livemode: bool) -> str:
    """Stripe's dashboard page of a PaymentIntent (``pi_…``); nothing for the test provider."""
    reference = payment.provider_reference or ""
    if payment.provider == "stripe" and reference.startswith("pi_"):
        return f"https://dashboard.stripe.com/{'' if livemode else 'test/'}payments/{reference}"
    return ""


PAYMENT_OUTCOME = {PaymentAttemptStatus.SUCCEEDED: "ok", PaymentAttemptStatus.FAILED: "failed",
                   PaymentAttemptStatus.PENDING: "waiting"}


def session_timeline(session: CheckoutSession, now: datetime.datetime | None = None) -> list[Entry]:
    now = now or timezone.now()
    entries = [Entry(session.created_at, "created", f"Created: {session.get_checkout_type_display().lower()}",
                     f"by the API{f' (trace {session.trace_id})' if session.trace_id else ''}; "
                     f"expires {session.expires_at:%Y-%m-%d %H:%M} UTC")]
    view = PageView.objects.filter(checkout_session_id=session.pk).first()
    if view is not None:
        entries.append(Entry(view.opened_at, "page", "Hosted page opened", "first view by the customer's browser"))
    for payment in Payment.objects.filter(checkout_session_id=session.pk).order_by("created_at"):
        card = f" •••• {payment.card_last4}" if payment.card_last4 else ""
        detail = f"{money(payment.amount, payment.currency)} by {payment.get_method_display().lower()}{card}"
        if payment.failure_code:
            detail += f" — {payment.failure_code}: {payment.failure_message}".rstrip(": ")
        entries.append(Entry(payment.created_at, "payment", f"Payment attempt {payment.get_status_display().lower()}",
                             detail, PAYMENT_OUTCOME.get(payment.status, ""), gateway_link(payment, session.livemode),
                             payment.provider_reference))
    for refund in Refund.objects.filter(payment__checkout_session_id=session.pk).order_by("created_at"):
        who = refund.requested_by if refund.source == "admin" else ""
        detail = f"{money(refund.amount, refund.currency)}, {refund.get_reason_display().lower()}, from {refund.source}"
        if refund.failure_reason:
            detail += f" — {refund.failure_reason}"
        entries.append(Entry(refund.created_at, "payment", f"Refund {refund.get_status_display().lower()}", detail,
                             {"succeeded": "ok", "failed": "failed"}.get(refund.status, "waiting"), who=who))
    deliveries: dict = {}
    for delivery in (WebhookDelivery.objects.filter(event__checkout_session_id=session.pk)
                     .select_related("endpoint").order_by("created_at")):
        deliveries.setdefault(delivery.event_id, []).append(delivery)
    for event in session.events.order_by("sequence"):
        payload = event.payload or {}
        detail = payload.get("failure_message") or payload.get("cancellation_reason") or ""
        entries.append(Entry(event.created_at, "event", f"Event {event.type}", detail,
                             "failed" if event.type.endswith("payment_failed") else "",
                             reverse("admin:checkout_event_change", args=[event.pk]), f"#{event.sequence}"))
        for delivery in deliveries.get(event.pk, ()):
            state = delivery_state(delivery, now)
            attempts = f"{delivery.attempt_count} attempt{'s' if delivery.attempt_count != 1 else ''}"
            entries.append(Entry(
                delivery.delivered_at or delivery.created_at, "delivery",
                f"Webhook {state}", f"{event.type} to {delivery.endpoint.url} ({attempts})",
                "ok" if state == "delivered" else "failed" if state == "failed" else "waiting",
                reverse("admin:checkout_webhookdelivery_change", args=[delivery.pk]), "delivery"))
    content_type = ContentType.objects.get_for_model(CheckoutSession)
    for entry in AuditEntry.objects.filter(content_type=content_type, object_id=str(session.pk)).order_by("at"):
        entries.append(Entry(entry.at, "admin", "Admin action", entry.message, who=entry.username or "someone"))
    entries.sort(key=lambda e: e.at)
    return entries
