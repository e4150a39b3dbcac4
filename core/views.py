from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_safe

from .errors import json_error_response
from .health import database_check, redis_check
from .metrics import metrics_render, metrics_token_valid


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


# Probes read (GET, and HEAD as some load balancers send): TRACE, POST, … answer 405 as on
# every other route.
@require_safe
def healthz(request):
    """Liveness: the process answers. Touches no dependency, so a database outage never
    gets healthy web workers restarted."""
    return JsonResponse({"status": "ok"})


@require_safe
def readyz(request):
    """Readiness: may this instance take traffic? The database is required (503 without it);
    Redis is reported ``degraded`` when unreachable, not down: the API and the pages keep
    working without it (events wait in the outbox, rate limits step aside)."""
    checks = {"database": database_check(), "redis": redis_check()}
    ready = checks["database"] == "ok"
    degraded = checks["redis"] == "down"
    return JsonResponse({"status": ("degraded" if degraded else "ok") if ready else "down",
                         "checks": checks}, status=200 if ready else 503)


@require_GET
def metrics(request):
    """Prometheus metrics (core.metrics) for a bearer of ``METRICS_TOKEN``; without the setting
    the endpoint does not exist (404, as any unknown path)."""
    if not settings.METRICS_TOKEN:
        raise Http404
    if not metrics_token_valid(request.headers.get("Authorization", ""), settings.METRICS_TOKEN):
        response = json_error_response("unauthorized", "A valid metrics bearer token is required.", 401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics_render(request.headers.get("Accept", ""))
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
