import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from checkout.admin.timeline import delivery_state
from checkout.effects import tasks_run_inline
from checkout.enums import WEBHOOK_EVENT_CHOICES
from checkout.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from checkout.webhooks.delivery import event_envelope, webhook_delivery_resend
from checkout.webhooks.endpoints import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_limit_check,
    webhook_endpoint_secret_roll,
    webhook_endpoint_update,
    webhook_url_validate,
)
from core.errors import DomainError


class WebhookEndpointForm(forms.ModelForm):
    enabled_events = forms.MultipleChoiceField(
        choices=WEBHOOK_EVENT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to receive every event type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "livemode", "url", "description", "enabled_events", "is_active"]
        labels = {"livemode": "Live mode"}
        help_texts = {"livemode": "Live endpoints receive live sessions' events only; test endpoints test events "
                                  "only. Fixed once created."}

    def clean_url(self):
        try:
            return webhook_url_validate(self.cleaned_data.get("url"))
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def clean(self):
        cleaned = super().clean()
        livemode = cleaned.get("livemode") if self.instance._state.adding else self.instance.livemode
        if livemode and cleaned.get("url"):
            try:
                webhook_url_validate(cleaned["url"], livemode=True)
            except DomainError as exc:
                self.add_error("url", exc.message)
        organization = cleaned.get("organization")
        if self.instance._state.adding and organization is not None:
            try:
                webhook_endpoint_limit_check(organization_id=organization.pk)
            except DomainError as exc:
                raise ValidationError(exc.message) from None
        return cleaned


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """The signing secret is shown once, in a message after creation, never on a form."""

    form = WebhookEndpointForm
    list_display = ["url", "organization", "livemode", "is_active", "events", "last_success_at", "failing_since",
                    "disabled_reason", "created_at"]
    list_filter = ["livemode", "is_active", "organization"]
    search_fields = ["url", "description", "=id"]
    list_select_related = ["organization"]
    actions = ["roll_secret"]

    def has_delete_permission(self, request, obj=None):
        # Deleting an endpoint would delete its deliveries (history): pause it (untick Active).
        return False

    def get_readonly_fields(self, request, obj=None):
        return ["organization", "livemode", "previous_secret_expires_at", "last_success_at", "failing_since",
                "disabled_reason", "created_at", "updated_at"] if obj else []

    @admin.action(description="Roll the signing secret (the old one keeps signing for 24 h)")
    def roll_secret(self, request, queryset):
        for endpoint in queryset:
            endpoint, secret = webhook_endpoint_secret_roll(
                organization_id=endpoint.organization_id, endpoint_id=endpoint.pk
            )
            messages.warning(
                request,
                format_html(
                    "New signing secret for {}: <code>{}</code> — copy it now, it will not be shown again. "
                    "Deliveries are signed with the old secret too until {} UTC.",
                    endpoint.url,
                    secret,
                    f"{endpoint.previous_secret_expires_at:%Y-%m-%d %H:%M}",
                ),
            )

    @admin.display(description="Events")
    def events(self, obj):
        return ", ".join(obj.enabled_events) if obj.enabled_events else "all"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            webhook_endpoint_update(
                organization_id=obj.organization_id,
                endpoint_id=obj.pk,
                url=data["url"],
                enabled_events=data["enabled_events"] or None,  # none ticked: every event type
                description=data["description"],
                is_active=data["is_active"],
            )
            return
        endpoint, secret = webhook_endpoint_create(
            organization_id=data["organization"].pk,
            url=data["url"],
            enabled_events=data["enabled_events"] or None,  # none ticked: every event type
            description=data["description"],
            is_active=data["is_active"],
            livemode=data["livemode"],
        )
        # The admin logs and redirects with `obj`: make it the row the service created.
        for field in ("id", "secret", "created_at", "updated_at", "is_active", "enabled_events"):
            setattr(obj, field, getattr(endpoint, field))
        obj._state.adding = False
        obj._state.db = endpoint._state.db
        messages.warning(
            request,
            format_html(
                "Signing secret for {}: <code>{}</code> — copy it now, it will not be shown again.",
                endpoint.url,
                secret,
            ),
        )

    def delete_model(self, request, obj):
        webhook_endpoint_delete(organization_id=obj.organization_id, endpoint_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            self.delete_model(request, endpoint)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ["attempted_at", "response_status", "latency_ms", "error", "response_excerpt"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_type", "session", "endpoint", "state", "attempt_count", "delivered_at", "created_at"]
    list_filter = ["status", "event__type", "endpoint__organization"]
    search_fields = ["=event__checkout_session__id", "=event__id", "=id", "endpoint__url"]
    list_select_related = ["event", "endpoint"]
    date_hierarchy = "created_at"
    fields = ["endpoint", "event", "state", "attempt_count", "next_attempt_at", "delivered_at", "created_at",
              "body"]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Viewable, not editable: only the Re-send action changes a delivery.
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # history

    @admin.display(description="Status", ordering="status")
    def state(self, obj):
        return delivery_state(obj)

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description="Checkout session")
    def session(self, obj):
        return f"{str(obj.event.checkout_session_id)[:8]}…"

    @admin.display(description="Body (signed when sent)")
    def body(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(event_envelope(obj.event), indent=2, sort_keys=True))

    def has_resend_permission(self, request):
        return request.user.has_perm("checkout.change_webhookdelivery")

    @admin.action(description="Re-send selected deliveries now", permissions=["resend"])
    def resend(self, request, queryset):
        count = 0
        for delivery_id in queryset.values_list("id", flat=True):
            webhook_delivery_resend(delivery_id=delivery_id)
            count += 1
        if tasks_run_inline():
            self.message_user(request, f"{count} delivery(ies) marked to be sent again: with no worker configured, "
                                       "run `manage.py send_webhooks` to send them.", messages.WARNING)
        else:
            self.message_user(request, f"Queued {count} delivery(ies) to be sent again.", messages.SUCCESS)

