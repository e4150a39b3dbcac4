from django.urls import path

from .webhooks import webhook_endpoint_detail, webhook_endpoint_roll_secret, webhook_endpoints_collection

# No trailing slashes, like the rest of /api/v1/.
urlpatterns = [
    path("webhook-endpoints", webhook_endpoints_collection, name="webhook-endpoint-collection"),
    path("webhook-endpoints/<uuid:endpoint_id>", webhook_endpoint_detail, name="webhook-endpoint-detail"),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/roll-secret",
        webhook_endpoint_roll_secret,
        name="webhook-endpoint-roll-secret",
    ),
]
