from django.contrib import admin
from django.core.exceptions import DisallowedHost
from django.http import HttpResponseBadRequest, HttpResponseNotFound, HttpResponseServerError
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import views as core_views
from core.errors import json_error_response

admin.site.site_header = "Checkout operations"
admin.site.site_title = "Checkout ops"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", core_views.healthz),
    path("readyz", core_views.readyz),
    path("metrics", core_views.metrics, name="metrics"),
    path("api/v1/", core_views.api_root, name="api-root"),
    path("api/v1/", include("checkout.api.urls")),
    path("api/v1/", include("billing.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # CSRF-exempt so an unknown POST under /api/ is a JSON 404, not Django's HTML 403.
    re_path(r"^api/", csrf_exempt(core_views.api_not_found)),
    path("", include("checkout.urls")),
]


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error_response("not_found", "No such endpoint.", 404)
    return HttpResponseNotFound("<h1>Not found</h1>")


def handler400(request, exception=None):
    # A Host not in ALLOWED_HOSTS (DisallowedHost) and other SuspiciousOperations land here.
    if request.path.startswith("/api/"):
        if isinstance(exception, DisallowedHost):
            return json_error_response("invalid_host", "The request's Host is not one this server answers.", 400)
        return json_error_response("malformed_request", "The request is malformed.", 400)
    return HttpResponseBadRequest("<h1>Bad Request (400)</h1>")


def handler500(request):
    if request.path.startswith("/api/"):
        return json_error_response("internal_error", "Something went wrong on our side.", 500)
    return HttpResponseServerError("<h1>Server error</h1>")
