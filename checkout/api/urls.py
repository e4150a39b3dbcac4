from django.urls import path

from .events import EventListApi, EventRetrieveApi
from .routing import MethodRouter
from .views import (
    CheckoutSessionCancelApi,
    CheckoutSessionConfirmApi,
    CheckoutSessionExpireApi,
    CheckoutSessionPreviewApi,
    checkout_session_detail,
    checkout_sessions_collection,
)
from .webhooks import webhook_endpoint_detail, webhook_endpoint_roll_secret, webhook_endpoints_collection

# No trailing slashes: /api/v1/checkout-sessions/…, /api/v1/webhook-endpoints/… (anything else
# under /api/ is a JSON 404).
urlpatterns = [
    path("checkout-sessions", checkout_sessions_collection, name="checkout-session-collection"),
    path("checkout-sessions/preview", CheckoutSessionPreviewApi.as_view(), name="checkout-session-preview"),
    path("checkout-sessions/<uuid:session_id>", checkout_session_detail, name="checkout-session-detail"),
    path(
        "checkout-sessions/<uuid:session_id>/cancel",
        CheckoutSessionCancelApi.as_view(),
        name="checkout-session-cancel",
    ),
    path(
        "checkout-sessions/<uuid:session_id>/confirm",
        CheckoutSessionConfirmApi.as_view(),
        name="checkout-session-confirm",
    ),
    path(
        "checkout-sessions/<uuid:session_id>/expire",
        CheckoutSessionExpireApi.as_view(),
        name="checkout-session-expire",
    ),
    path("events", MethodRouter(get=EventListApi.as_view()), name="event-collection"),
    path("events/<uuid:event_id>", MethodRouter(get=EventRetrieveApi.as_view()), name="event-detail"),
    path("webhook-endpoints", webhook_endpoints_collection, name="webhook-endpoint-collection"),
    path("webhook-endpoints/<uuid:endpoint_id>", webhook_endpoint_detail, name="webhook-endpoint-detail"),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/roll-secret",
        webhook_endpoint_roll_secret,
        name="webhook-endpoint-roll-secret",
    ),
]
