from django.urls import path

from .views import (
    CheckoutSessionCancelApi,
    CheckoutSessionRetrieveApi,
    checkout_sessions_collection,
)

# No trailing slashes: /api/v1/checkout-sessions/… (anything else under /api/ is a JSON 404).
urlpatterns = [
    path("checkout-sessions", checkout_sessions_collection, name="checkout-session-collection"),
    path(
        "checkout-sessions/<uuid:session_id>",
        CheckoutSessionRetrieveApi.as_view(),
        name="checkout-session-detail",
    ),
    path(
        "checkout-sessions/<uuid:session_id>/cancel",
        CheckoutSessionCancelApi.as_view(),
        name="checkout-session-cancel",
    ),
]
