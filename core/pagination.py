"""Keyset pages over a list ordered newest first (``created_at`` desc, then ``id`` desc): the
checkout-session, event and webhook-endpoint lists (and any other app's).

Three ways to say where a page starts, at most one per request:

- ``cursor``: the ``next_cursor`` of the previous page (opaque);
- ``starting_after=<id>``: the objects listed after (older than) that object, Stripe's way;
- ``ending_before=<id>``: the objects listed before (newer than) that object, the page going
  back; ``has_more`` then says whether still newer ones exist.

An id names an object of the same list (the caller's organization and mode), whatever the
filters; another one is 422 ``invalid_cursor`` on its parameter.
"""

import base64
import binascii
import datetime
import json
import uuid
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .errors import CoreErrorCode, DomainError

PAGE_PARAMETERS = ("cursor", "starting_after", "ending_before")


class PageInvalid(DomainError):
    code = "invalid_cursor"  # checkout.errors.CheckoutErrorCode.INVALID_CURSOR, the code lists had first
    message = "The cursor is not one this API returned."


class PageConflict(DomainError):
    code = CoreErrorCode.PAGINATION_CONFLICT.value
    message = "Send at most one of cursor, starting_after and ending_before."


@dataclass(frozen=True)
class Page:
    items: list
    has_more: bool
    next_cursor: str | None


def page_cursor_encode(item) -> str:
    raw = json.dumps([item.created_at.isoformat(), str(item.id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def page_cursor_decode(cursor: str) -> tuple[datetime.datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, item_id = json.loads(raw)
        created = datetime.datetime.fromisoformat(created_at)
        if created.tzinfo is None:
            raise ValueError("naive")
        return created, uuid.UUID(item_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise PageInvalid(field="cursor") from None


def created_range(queryset: QuerySet, *, gte=None, gt=None, lte=None, lt=None) -> QuerySet:
    """``queryset`` within the list filters' ``created[gte|gt|lte|lt]`` bounds (those given)."""
    for lookup, value in (("gte", gte), ("gt", gt), ("lte", lte), ("lt", lt)):
        if value is not None:
            queryset = queryset.filter(**{f"created_at__{lookup}": value})
    return queryset


def _anchor(scope: QuerySet, item_id, field: str) -> tuple[datetime.datetime, uuid.UUID]:
    row = scope.filter(pk=item_id).values_list("created_at", "id").first()
    if row is None:
        raise PageInvalid("No object with this id in this list.", field=field)
    return row


def keyset_page(queryset: QuerySet, *, scope: QuerySet, limit: int, cursor: str | None = None,
                starting_after=None, ending_before=None) -> Page:
    """One page of ``queryset`` (filtered, unordered), newest first. ``scope`` is the list
    before filters (the caller's organization and mode): where ``starting_after`` and
    ``ending_before`` ids are looked up."""
    given = [name for name, value in zip(PAGE_PARAMETERS, (cursor, starting_after, ending_before), strict=True)
             if value not in (None, "")]
    if len(given) > 1:
        raise PageConflict(fields={name: [PageConflict.message] for name in given})
    if ending_before:
        created_at, item_id = _anchor(scope, ending_before, "ending_before")
        newer = queryset.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=item_id))
        rows = list(newer.order_by("created_at", "id")[: limit + 1])
        items = rows[:limit][::-1]
        return Page(items=items, has_more=len(rows) > limit, next_cursor=None)
    if cursor:
        created_at, item_id = page_cursor_decode(cursor)
    elif starting_after:
        created_at, item_id = _anchor(scope, starting_after, "starting_after")
    else:
        created_at = item_id = None
    if created_at is not None:
        queryset = queryset.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=item_id))
    rows = list(queryset.order_by("-created_at", "-id")[: limit + 1])
    items = rows[:limit]
    has_more = len(rows) > limit
    return Page(items=items, has_more=has_more, next_cursor=page_cursor_encode(items[-1]) if has_more else None)
