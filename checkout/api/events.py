"""Merchant API for events: ``GET /api/v1/events`` and ``GET /api/v1/events/{id}``.

What a receiver that was down past the retry window (or lost what it stored) reconciles with:
every event of the key's mode, each the very object its webhook deliveries carry
(``checkout.webhooks.delivery.event_envelope``). Events are kept at least
``EVENT_RETENTION_DAYS`` (the retention run's floor, ``checkout.services.retention``).

The list tolerates lag, like the other lists: it reads the replica when there is one (a receiver
paging forward from its last event finds the newest ones on its next call), except for a merchant
that wrote in the last ``REPLICA_STICKY_SECONDS``. The retrieve reads the primary: the id comes
from a webhook that may arrive before the replica has the row.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from checkout.enums import WEBHOOK_EVENT_TYPES
from checkout.selectors import event_get, event_list
from checkout.services.retention import EVENTS_MIN_DAYS
from checkout.sessions.events import event_payloads_complete_pending, event_payloads_pending_exist
from checkout.webhooks.delivery import event_envelope
from core.dbrouter import primary_reads, replica_reading, replica_reads

from .serializers import (
    ChoiceField,
    DateTimeField,
    ErrorEnvelopeSerializer,
    IdField,
    PageQuerySerializer,
    QuerySerializer,
    query_validated,
)
from .views import MerchantApi, caller_organization

# At least this long (PRODUCT: a receiver down past the retry window can still reconcile).
EVENT_RETENTION_DAYS = EVENTS_MIN_DAYS


class EventListQuerySerializer(PageQuerySerializer):
    type = ChoiceField(choices=WEBHOOK_EVENT_TYPES, required=False, help_text="Only events of this type.")
    checkout_session_id = IdField(required=False, help_text="Only the events of this checkout session.")
    object_id = IdField(required=False, help_text="Only the events about this object (a checkout session, an "
                                                  "invoice, a contract, a payment, a payment method).")
    created_gte = DateTimeField(required=False, help_text="Created at or after.")
    created_gt = DateTimeField(required=False, help_text="Created after.")
    created_lte = DateTimeField(required=False, help_text="Created at or before.")
    created_lt = DateTimeField(required=False, help_text="Created before.")


class EventRetrieveQuerySerializer(QuerySerializer):
    pass


# Schema only: responses are built by ``event_envelope``, the webhook body. Keep the two in step.
class EventSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.ChoiceField(choices=["event"])
    type = serializers.ChoiceField(choices=WEBHOOK_EVENT_TYPES)
    livemode = serializers.BooleanField()
    created = serializers.IntegerField(help_text="Unix time (seconds) the event was created.")
    sequence = serializers.IntegerField(
        help_text="The event's place among its session's (or billing object's) events, from 1.")
    data = serializers.DictField(
        help_text="`object`: the session (or billing object) as it stood when the event happened; some types "
                  "add fields beside it (e.g. `failure_code`).")


class EventListSerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=["list"])
    data = EventSerializer(many=True)
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True)


_TAGS = ["events"]
_401 = OpenApiResponse(ErrorEnvelopeSerializer, description="Missing or invalid API key.")
_422 = OpenApiResponse(
    ErrorEnvelopeSerializer,
    description="Invalid query (`error.fields` names the parameter): `unknown_parameter`, `invalid_choice`, "
                "`invalid_id`, `invalid_datetime`, `value_out_of_range`, `invalid_length`, `invalid_characters`, "
                "`invalid_cursor` (also a `starting_after` / `ending_before` id not in this list), "
                "`pagination_conflict` (more than one of cursor, starting_after, ending_before).",
)


class EventListApi(MerchantApi):
    @extend_schema(
        operation_id="events_list", tags=_TAGS, summary="List events",
        description="Your events of the key's mode, newest first: the objects your webhook endpoints receive, "
                    f"kept at least {EVENT_RETENTION_DAYS} days. Reconcile after an outage by listing from the "
                    "last event you processed: `ending_before=<its id>` pages forward in time. Page back in time "
                    "with `starting_after=<last id>` (or `next_cursor`).",
        parameters=[EventListQuerySerializer], responses={200: EventListSerializer, 401: _401, 422: _422},
    )
    @replica_reads(organization_of=caller_organization)
    def get(self, request):
        filters = query_validated(EventListQuerySerializer, request)
        scope = {"organization_id": request.auth.organization_id, "livemode": request.auth.livemode}
        with primary_reads():  # completes (writes) on the primary what it reads there
            event_payloads_complete_pending(**scope)
        # A replica behind those writes would leave gaps in the page: read the primary then.
        if replica_reading() and event_payloads_pending_exist(**scope):
            with primary_reads():
                page = event_list(**scope, **filters)
        else:
            page = event_list(**scope, **filters)
        return Response({"object": "list", "data": [event_envelope(event) for event in page.items],
                         "has_more": page.has_more, "next_cursor": page.next_cursor})


class EventRetrieveApi(MerchantApi):
    @extend_schema(
        operation_id="events_retrieve", tags=_TAGS, summary="Retrieve an event",
        description="The event as its webhook deliveries carry it. Another organization's or mode's event is "
                    "404 `event_not_found`.",
        responses={200: EventSerializer, 401: _401,
                   404: OpenApiResponse(ErrorEnvelopeSerializer, description="`event_not_found`."), 422: _422},
    )
    def get(self, request, event_id):
        query_validated(EventRetrieveQuerySerializer, request)
        event_payloads_complete_pending(organization_id=request.auth.organization_id, livemode=request.auth.livemode)
        event = event_get(organization_id=request.auth.organization_id, livemode=request.auth.livemode,
                          event_id=event_id)
        return Response(event_envelope(event))
