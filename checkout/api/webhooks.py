"""Merchant API for webhook endpoints: ``/api/v1/webhook-endpoints`` (GET list, POST
create), ``/api/v1/webhook-endpoints/{id}`` (GET, POST to update, DELETE) and
``/api/v1/webhook-endpoints/{id}/roll-secret`` (POST).

Shapes here, rules in ``checkout.webhooks.endpoints``. The signing secret is in the
create and roll responses only; later reads never show it.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from checkout.enums import ALL_EVENTS, WEBHOOK_EVENT_TYPES
from checkout.representation import webhook_endpoint_json
from checkout.webhooks import endpoints as service
from core.dbrouter import replica_reads

from .idempotent import idempotent_response
from .routing import MethodRouter
from .serializers import (
    BooleanField,
    ErrorEnvelopeSerializer,
    IntegerField,
    PageQuerySerializer,
    QuerySerializer,
    RedirectUrlField,
    StrictSerializer,
    StringField,
    query_validated,
    validated,
)
from .views import MerchantApi, caller_organization

EVENT_CHOICES = [ALL_EVENTS, *WEBHOOK_EVENT_TYPES]


@extend_schema_field({
    "type": "array", "items": {"type": "string", "enum": EVENT_CHOICES}, "minItems": 1,
    "maxItems": len(EVENT_CHOICES), "uniqueItems": True,
    "description": 'Event types to receive, each once; ["*"] (the default) alone for all of them. An empty list '
                   "is refused (invalid_event_type): pause the endpoint with is_active: false instead.",
})
class EventTypeListField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.ChoiceField(choices=EVENT_CHOICES),
            allow_empty=True,
            max_length=len(EVENT_CHOICES),
            help_text='Event types to receive; ["*"] (the default) for all of them. An empty list is refused '
                      "(invalid_event_type): pause the endpoint with is_active: false instead.",
            **kwargs,
        )


class WebhookEndpointCreateSerializer(StrictSerializer):
    url = RedirectUrlField(help_text="Where events are POSTed: https (required for live keys) or http.")
    enabled_events = EventTypeListField(required=False)
    description = StringField(max_length=200, required=False, allow_blank=True)


class WebhookEndpointUpdateSerializer(StrictSerializer):
    url = RedirectUrlField(required=False)
    enabled_events = EventTypeListField(required=False)
    description = StringField(max_length=200, required=False, allow_blank=True)
    is_active = BooleanField(required=False, help_text="False pauses deliveries to this endpoint.")


# Schema only: responses are built by ``webhook_endpoint_json``. Keep the two in step.
class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.CharField(default="webhook_endpoint")
    organization_id = serializers.UUIDField()
    livemode = serializers.BooleanField(
        help_text="The mode of the key that created it: the endpoint receives only that mode's events.")
    url = serializers.CharField()
    description = serializers.CharField()
    enabled_events = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="While a rolled secret's overlap lasts: until when deliveries also carry a "
                                   "signature made with the secret before the roll. Null otherwise.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        help_text="Signing secret (whsec_…). Shown only in this response: store it now."
    )


class WebhookEndpointRollSerializer(StrictSerializer):
    previous_secret_valid_hours = IntegerField(
        required=False,
        default=service.SECRET_GRACE_HOURS_DEFAULT,
        min_value=0,
        max_value=service.SECRET_GRACE_HOURS_MAX,
        help_text="How long deliveries are also signed with the old secret (0–168 hours; 0 drops it now).",
    )


class WebhookEndpointRolledSerializer(WebhookEndpointCreatedSerializer):
    pass


class WebhookEndpointListSerializer(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = WebhookEndpointSerializer(many=True)
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True)


class WebhookEndpointDeletedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.CharField(default="webhook_endpoint")
    deleted = serializers.BooleanField(default=True)


_ERRORS = {
    401: OpenApiResponse(ErrorEnvelopeSerializer, description="Missing or invalid API key."),
    404: OpenApiResponse(
        ErrorEnvelopeSerializer, description="No such endpoint in your organization (`webhook_endpoint_not_found`)."
    ),
    422: OpenApiResponse(
        ErrorEnvelopeSerializer,
        description="Invalid fields (see error.fields): the redirect-URL codes for `url` (`invalid_url`, "
        "`url_too_long`, `url_scheme_not_allowed`, `url_userinfo_not_allowed`, `url_https_required`) "
        "and `url_not_public` (localhost, private or loopback IP addresses), "
        "`invalid_event_type`, `webhook_endpoint_limit`.",
    ),
}


_QUERY_422 = OpenApiResponse(
    ErrorEnvelopeSerializer,
    description="Invalid query (`error.fields` names the parameter): `unknown_parameter`, `invalid_id`, "
                "`value_out_of_range`, `invalid_length`, `invalid_characters`, `invalid_cursor`, "
                "`pagination_conflict`.",
)

_TAGS = ["webhook endpoints"]


class WebhookEndpointListApi(MerchantApi):
    @extend_schema(operation_id="webhook_endpoints_list", tags=_TAGS, summary="List webhook endpoints",
                   description="Newest first, paged like every list: `limit`, and one of `cursor`, "
                               "`starting_after`, `ending_before`.",
                   parameters=[PageQuerySerializer],
                   responses={200: WebhookEndpointListSerializer, 401: _ERRORS[401], 422: _QUERY_422})
    @replica_reads(organization_of=caller_organization)
    def get(self, request):
        page = service.webhook_endpoints_list(organization_id=request.auth.organization_id,
                                              livemode=request.auth.livemode,
                                              **query_validated(PageQuerySerializer, request))
        return Response(
            {
                "object": "list",
                "data": [webhook_endpoint_json(endpoint) for endpoint in page.items],
                "has_more": page.has_more,
                "next_cursor": page.next_cursor,
            }
        )


class WebhookEndpointCreateApi(MerchantApi):
    @extend_schema(
        operation_id="webhook_endpoints_create", tags=_TAGS, summary="Create a webhook endpoint",
        description="The response carries the signing secret, once: store it to verify the "
                    "`Checkout-Signature` header of every delivery.",
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointCreatedSerializer, 401: _ERRORS[401], 422: _ERRORS[422]},
    )
    def post(self, request):
        def create():
            data = validated(WebhookEndpointCreateSerializer, request.data)
            endpoint, secret = service.webhook_endpoint_create(
                organization_id=request.auth.organization_id,
                url=data["url"],
                enabled_events=data.get("enabled_events"),
                description=data.get("description", ""),
                livemode=request.auth.livemode,
            )
            return 201, {**webhook_endpoint_json(endpoint), "secret": secret}

        return idempotent_response(request, operation="webhook_endpoint_create", call=create)


class WebhookEndpointRetrieveApi(MerchantApi):
    @extend_schema(operation_id="webhook_endpoints_retrieve", tags=_TAGS, summary="Retrieve a webhook endpoint",
                   responses={200: WebhookEndpointSerializer, 401: _ERRORS[401], 404: _ERRORS[404],
                              422: _QUERY_422})
    def get(self, request, endpoint_id):
        query_validated(QuerySerializer, request)
        endpoint = service.webhook_endpoint_get(organization_id=request.auth.organization_id, endpoint_id=endpoint_id,
                                                livemode=request.auth.livemode)
        return Response(webhook_endpoint_json(endpoint))


class WebhookEndpointUpdateApi(MerchantApi):
    @extend_schema(operation_id="webhook_endpoints_update", tags=_TAGS, summary="Update a webhook endpoint",
                   description="Send only the fields to change. The secret never changes.",
                   request=WebhookEndpointUpdateSerializer, responses={200: WebhookEndpointSerializer, **_ERRORS})
    def post(self, request, endpoint_id):
        def update():
            data = validated(WebhookEndpointUpdateSerializer, request.data)
            endpoint = service.webhook_endpoint_update(
                organization_id=request.auth.organization_id,
                endpoint_id=endpoint_id,
                livemode=request.auth.livemode,
                **data,
            )
            return 200, webhook_endpoint_json(endpoint)

        return idempotent_response(request, operation="webhook_endpoint_update", target=endpoint_id, call=update)


class WebhookEndpointDeleteApi(MerchantApi):
    @extend_schema(operation_id="webhook_endpoints_delete", tags=_TAGS, summary="Delete a webhook endpoint",
                   responses={200: WebhookEndpointDeletedSerializer, 401: _ERRORS[401], 404: _ERRORS[404]})
    def delete(self, request, endpoint_id):
        service.webhook_endpoint_delete(organization_id=request.auth.organization_id, endpoint_id=endpoint_id,
                                        livemode=request.auth.livemode)
        return Response({"id": str(endpoint_id), "object": "webhook_endpoint", "deleted": True})


class WebhookEndpointRollSecretApi(MerchantApi):
    @extend_schema(
        operation_id="webhook_endpoints_roll_secret", tags=_TAGS, summary="Roll a webhook endpoint's signing secret",
        description="Returns a new signing secret, once. For `previous_secret_valid_hours` (default 24) every "
                    "delivery's `Checkout-Signature` carries a `v1` signature made with each secret, so your "
                    "receiver can switch to the new secret at any time in between without rejecting a delivery. "
                    "Send 0 when the old secret leaked.",
        request=WebhookEndpointRollSerializer,
        responses={200: WebhookEndpointRolledSerializer, **_ERRORS},
    )
    def post(self, request, endpoint_id):
        def roll():
            data = validated(WebhookEndpointRollSerializer, request.data)
            endpoint, secret = service.webhook_endpoint_secret_roll(
                organization_id=request.auth.organization_id,
                endpoint_id=endpoint_id,
                previous_secret_valid_hours=data["previous_secret_valid_hours"],
                livemode=request.auth.livemode,
            )
            return 200, {**webhook_endpoint_json(endpoint), "secret": secret}

        return idempotent_response(request, operation="webhook_endpoint_roll_secret", target=endpoint_id, call=roll)


webhook_endpoints_collection = MethodRouter(
    get=WebhookEndpointListApi.as_view(), post=WebhookEndpointCreateApi.as_view()
)
webhook_endpoint_roll_secret = MethodRouter(post=WebhookEndpointRollSecretApi.as_view())
webhook_endpoint_detail = MethodRouter(
    get=WebhookEndpointRetrieveApi.as_view(),
    post=WebhookEndpointUpdateApi.as_view(),
    delete=WebhookEndpointDeleteApi.as_view(),
)
