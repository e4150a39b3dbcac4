"""Webhook endpoints: a merchant's URLs (one mode each), the events they subscribe to, their
signing secrets; created, changed, rolled and deleted through the API or admin.

Only public addresses are accepted (``webhook_url_validate``); ``checkout.webhooks.delivery``
checks again, at the address it connects to.
"""

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from checkout.enums import ALL_EVENTS, WEBHOOK_EVENT_TYPES
from checkout.errors import (
    InvalidEventType,
    InvalidSecretGracePeriod,
    InvalidWebhookUrl,
    UrlHttpsRequired,
    WebhookEndpointLimit,
    WebhookEndpointNotFound,
    WebhookUrlNotPublic,
)
from checkout.models import WebhookEndpoint
from checkout.tokens import webhook_secret_new
from checkout.urlrules import is_https, url_problem
from core.outbound import host_is_private_literal
from core.pagination import Page, keyset_page

MAX_ENDPOINTS_PER_ORGANIZATION = 16
# After a secret roll, how long deliveries are also signed with the old secret.
SECRET_GRACE_HOURS_DEFAULT = 24
SECRET_GRACE_HOURS_MAX = 7 * 24


def webhook_url_validate(url, *, livemode: bool = False, field: str = "url") -> str:
    """The rules (and error codes) of redirect URLs: absolute http(s), a host,
    1–2083 characters, no userinfo; https for live keys. And, unless
    ``WEBHOOK_ALLOW_PRIVATE_NETWORKS``, not a host that is plainly private (localhost, a
    private or loopback IP literal); names that resolve to such addresses are refused when
    delivering (``core.outbound``)."""
    if not isinstance(url, str):
        raise InvalidWebhookUrl("Must be a string.", field=field)
    problem = url_problem(url)
    if problem is not None:
        code, message = problem
        raise InvalidWebhookUrl(message, field=field, code=code)
    if livemode and not is_https(url):
        raise UrlHttpsRequired(field=field)
    if not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS and host_is_private_literal(urlsplit(url).hostname or ""):
        raise WebhookUrlNotPublic(field=field)
    return url


def webhook_event_types_validate(enabled_events, *, field: str = "enabled_events") -> list[str]:
    """A list of distinct known event types; omitted (None) or ``["*"]`` (alone) means
    all (stored as ``[]``). An empty list is refused: "no events" is pausing the endpoint
    (``is_active``), and reading ``[]`` as "all" would subscribe to what was meant as nothing."""
    if enabled_events is None:
        return []
    if not isinstance(enabled_events, (list, tuple)):
        raise InvalidEventType("enabled_events must be a list of event types.", field=field)
    if not enabled_events:
        raise InvalidEventType(
            'enabled_events must name at least one event type, or be ["*"] for all of them; '
            "to receive nothing, pause the endpoint (is_active: false).", field=field)
    if list(enabled_events) == [ALL_EVENTS]:
        return []
    if ALL_EVENTS in enabled_events:
        raise InvalidEventType('"*" stands for every event type: send it alone, or list the types you want.',
                               field=field)
    if len(set(enabled_events)) != len(enabled_events):
        raise InvalidEventType("Each event type may be listed once.", field=field)
    unknown = [str(t) for t in enabled_events if t not in WEBHOOK_EVENT_TYPES]
    if unknown:
        raise InvalidEventType(
            f"Unknown event type(s): {', '.join(unknown)}. Known: {', '.join(WEBHOOK_EVENT_TYPES)}.",
            field=field,
        )
    return list(dict.fromkeys(enabled_events))


def webhook_endpoints_list(*, organization_id, livemode: bool, limit: int = 20, cursor: str | None = None,
                           starting_after=None, ending_before=None) -> Page:
    """One page of the organization's endpoints of one mode, newest first (``core.pagination``)."""
    scope = WebhookEndpoint.objects.filter(organization_id=organization_id, livemode=livemode)
    return keyset_page(scope, scope=scope, limit=limit, cursor=cursor, starting_after=starting_after,
                       ending_before=ending_before)


def webhook_endpoint_get(*, organization_id, endpoint_id, livemode: bool | None = None,
                         for_update: bool = False) -> WebhookEndpoint:
    """The organization's endpoint; with ``livemode`` (a merchant's key) only one of that
    mode: the other mode's endpoints are not found, like another tenant's."""
    endpoints = WebhookEndpoint.objects.select_for_update() if for_update else WebhookEndpoint.objects
    endpoints = endpoints.filter(pk=endpoint_id, organization_id=organization_id)
    if livemode is not None:
        endpoints = endpoints.filter(livemode=livemode)
    endpoint = endpoints.first()
    if endpoint is None:
        raise WebhookEndpointNotFound()
    return endpoint


@transaction.atomic
def webhook_endpoint_create(
    *, organization_id, url: str, enabled_events=None, description: str = "", is_active: bool = True,
    livemode: bool = False,
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint of one mode (it receives only that mode's events; ``is_active=False``:
    created paused). Returns it and its signing secret, which the caller shows once."""
    url = webhook_url_validate(url, livemode=livemode)
    events = webhook_event_types_validate(enabled_events)
    webhook_endpoint_limit_check(organization_id=organization_id)
    secret = webhook_secret_new()
    endpoint = WebhookEndpoint.objects.create(
        organization_id=organization_id,
        url=url,
        description=(description or "")[:200],
        secret=secret,
        enabled_events=events,
        is_active=is_active,
        livemode=livemode,
    )
    return endpoint, secret


def webhook_endpoint_limit_check(*, organization_id) -> None:
    """Refuse a new endpoint once the organization has the most it may have."""
    if WebhookEndpoint.objects.filter(organization_id=organization_id).count() >= MAX_ENDPOINTS_PER_ORGANIZATION:
        raise WebhookEndpointLimit(
            f"An organization can have at most {MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints."
        )


_UNSET = object()


@transaction.atomic
def webhook_endpoint_update(
    *,
    organization_id,
    endpoint_id,
    url=_UNSET,
    enabled_events=_UNSET,
    description=_UNSET,
    is_active=_UNSET,
    livemode: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given; the secret and the mode never change here. ``livemode``: the
    caller's mode (a merchant's key), None for ops."""
    endpoint = webhook_endpoint_get(organization_id=organization_id, endpoint_id=endpoint_id, livemode=livemode)
    if url is not _UNSET:
        endpoint.url = webhook_url_validate(url, livemode=endpoint.livemode)
    if enabled_events is not _UNSET:
        endpoint.enabled_events = webhook_event_types_validate(enabled_events)
    if description is not _UNSET:
        endpoint.description = (description or "")[:200]
    if is_active is not _UNSET:
        if is_active and not endpoint.is_active:  # re-enabled: a fresh start for its health
            endpoint.failing_since, endpoint.disabled_reason = None, ""
        endpoint.is_active = bool(is_active)
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_secret_roll(
    *, organization_id, endpoint_id, previous_secret_valid_hours=SECRET_GRACE_HOURS_DEFAULT,
    livemode: bool | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new signing secret; returns it (the caller shows it once).

    For ``previous_secret_valid_hours`` (0–168) every delivery carries a signature with each
    secret, so the receiver can switch to the new one whenever it likes within that time
    without rejecting a delivery; 0 drops the old secret at once (it leaked). Rolling again
    replaces the old secret with the one being replaced."""
    hours = previous_secret_valid_hours
    if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= SECRET_GRACE_HOURS_MAX:
        raise InvalidSecretGracePeriod(field="previous_secret_valid_hours")
    endpoint = webhook_endpoint_get(organization_id=organization_id, endpoint_id=endpoint_id, livemode=livemode,
                                    for_update=True)
    if hours:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=hours)
    else:
        endpoint.previous_secret, endpoint.previous_secret_expires_at = "", None
    endpoint.secret = webhook_secret_new()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint, endpoint.secret


@transaction.atomic
def webhook_endpoint_delete(*, organization_id, endpoint_id, livemode: bool | None = None) -> None:
    """Delete an endpoint with its deliveries; attempts already queued find nothing to do."""
    endpoint = webhook_endpoint_get(organization_id=organization_id, endpoint_id=endpoint_id, livemode=livemode)
    endpoint.delete()
