"""One path, one view per HTTP method."""

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from core.errors import error_body


class MethodRouter:
    """Routes one path to one view per HTTP method (``GET`` list, ``POST`` create), keeping
    views one-per-operation while REST puts both on ``/checkout-sessions``."""

    csrf_exempt = True  # the views authenticate with API keys, never cookies

    def __init__(self, **views):
        self.views = {method.upper(): view for method, view in views.items()}
        self.allow = ", ".join(sorted(self.views))

    def __call__(self, request, *args, **kwargs):
        view = self.views.get(request.method)
        if view is None and request.method == "HEAD":
            view = self.views.get("GET")
        if view is not None:
            return view(request, *args, **kwargs)
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
        else:
            response = HttpResponse(
                JSONRenderer().render(
                    error_body("method_not_allowed", f'Method "{request.method}" not allowed.')
                ),
                status=405,
                content_type="application/json",
            )
        response["Allow"] = self.allow
        return response
