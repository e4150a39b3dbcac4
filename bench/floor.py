"""The product's WSGI app plus the *floor*: the thinnest DRF endpoints, in the same process,
behind the same middleware, that a real endpoint can be compared with.

    gunicorn -c config/gunicorn.py bench.floor:application

- ``POST /bench/floor``: validate a one-field body with a DRF serializer, insert one row, answer
  201 with JSON: what any create stands on (the create workload's floor).
- ``GET /bench/floor/<token>``: read one row by a unique index (a checkout session by its
  token), answer 200 with JSON: what any page view stands on (the page workload's floor).

Neither authenticates, throttles or renders HTML: everything a real endpoint adds on top of
gunicorn + Django's middleware + DRF + one statement shows as the distance from the floor.
Every other path is the product's own (``config.urls``), through ``config.wsgi``'s wrapper.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework import serializers  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from checkout.models import CheckoutSession  # noqa: E402
from config.urls import handler404, handler500  # noqa: E402, F401  (this module is the URLconf)
from core.models import Organization  # noqa: E402

FLOOR_PATH = "/bench/floor"


class FloorSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class FloorCreateApi(APIView):
    """Validate a body, insert one row, answer 201."""

    authentication_classes: list = []
    permission_classes: list = []

    def post(self, request):
        serializer = FloorSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = Organization.objects.create(name=serializer.validated_data["name"])
        return Response({"id": str(row.id), "name": row.name}, status=201)


class FloorReadApi(APIView):
    """Read one row by a unique index, answer 200 (404 when absent)."""

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request, token):
        row = CheckoutSession.objects.filter(token=token).values("id", "status").first()
        if row is None:
            return Response({"detail": "not found"}, status=404)
        return Response({"id": str(row["id"]), "status": row["status"]})


urlpatterns = [
    path(FLOOR_PATH.lstrip("/"), FloorCreateApi.as_view()),
    path(FLOOR_PATH.lstrip("/") + "/<str:token>", FloorReadApi.as_view()),
    path("", include("config.urls")),
]

settings.ROOT_URLCONF = __name__

from config.wsgi import application  # noqa: E402, F401  (the product's app, now with the floor)
