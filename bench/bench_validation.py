"""Benchmark: validating a create body (the create path's serializer work), per implementation of
the serializer field tree.

    uv run python bench/bench_validation.py

Prints microseconds per validation of a plan-based create with a guest customer, overrides,
URLs, attribution and metadata, for: the field tree as the code builds it now, and DRF's stock
per-instance deep copy of declared fields (what ``StrictSerializer`` would do without its own
``get_fields``). No database: validation is pure.
"""

import os
import sys
import timeit
from functools import cached_property
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from rest_framework import serializers  # noqa: E402

from checkout.api.field_tree import fields_build  # noqa: E402
from checkout.api.serializers import CheckoutSessionCreateSerializer, StrictSerializer  # noqa: E402

BODY = {
    "plan_id": "5b1f7c8e-2d3a-4f6b-9e0c-1a2b3c4d5e6f",
    "guest_checkout": True,
    "customer": {"customer_name": "Ada Lovelace", "email": "ada@example.com", "phone_number": "+442071234567",
                 "address": {"line1": "12 St James's Sq", "city": "London", "zip_code": "SW1Y 4JH", "country": "GB"}},
    "business_entity_id": "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
    "start_date": "2026-12-20",
    "product_overrides": [{"product_id": "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", "quantity": 5}],
    "success_url": "https://merchant.example/thanks?session={CHECKOUT_SESSION_ID}",
    "cancel_url": "https://merchant.example/pricing",
    "attribution": {"utm_source": "newsletter", "utm_campaign": "spring"},
    "metadata": {"order_ref": "A-1001"},
}


def validate_once():
    serializer = CheckoutSessionCreateSerializer(data=BODY)
    assert serializer.is_valid(), serializer.errors


def per_call_us(number=2000, repeat=5) -> float:
    return min(timeit.repeat(validate_once, number=number, repeat=repeat)) / number * 1e6


def _fields(build):
    prop = cached_property(build)
    prop.__set_name__(StrictSerializer, "fields")
    return prop


def main():
    ours = per_call_us()
    # The other ways to build the tree, for comparison: a fresh tree per serializer instance
    # (cloned declared fields), and DRF's own per-instance deep copy.
    cached = StrictSerializer.fields
    StrictSerializer.fields = _fields(fields_build)
    fresh = per_call_us()
    StrictSerializer.get_fields = serializers.Serializer.get_fields
    stock = per_call_us()
    StrictSerializer.fields = cached
    print(f"create body validation, µs per call: {ours:.0f} with the frozen per-thread tree; {fresh:.0f} with a fresh cloned "
          f"tree per instance; {stock:.0f} with DRF's deep copy per instance")


if __name__ == "__main__":
    main()
