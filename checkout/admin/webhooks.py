from django.contrib import admin

from checkout.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "organization", "is_active", "created_at"]
    list_filter = ["is_active", "organization"]
    search_fields = ["url", "description"]


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
    list_display = ["event", "endpoint", "status", "attempt_count", "next_attempt_at", "delivered_at"]
    list_filter = ["status"]
    search_fields = ["=event__checkout_session__id", "endpoint__url"]
    raw_id_fields = ["event", "endpoint"]
    inlines = [WebhookAttemptInline]
