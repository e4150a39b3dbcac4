from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .errors import json_error_response


@require_GET
def api_root(request):
    return JsonResponse(
        {
            "object": "api",
            "version": "v1",
            "endpoints": {
                "checkout_sessions": request.build_absolute_uri("/api/v1/checkout-sessions"),
                "webhook_endpoints": request.build_absolute_uri("/api/v1/webhook-endpoints"),
                "schema": request.build_absolute_uri("/api/schema/"),
                "docs": request.build_absolute_uri("/api/docs/"),
            },
        }
    )


def api_not_found(request, *args, **kwargs):
    return json_error_response("not_found", "No such endpoint.", 404)


def healthz(request):
    return JsonResponse({"status": "ok"})
