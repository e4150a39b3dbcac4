import uuid

from django.contrib import admin

from checkout.models import CheckoutSession, Event, IdempotencyRecord, Payment


class EventInline(admin.TabularInline):
    model = Event
    extra = 0
    fields = ["sequence", "type", "created_at", "dispatched_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ["created_at", "method", "status", "amount", "currency", "card_last4", "failure_code"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "checkout_type", "status", "payment_status", "customer",
                    "currency", "expires_at", "created_at"]
    list_filter = ["status", "payment_status", "checkout_type", "guest_checkout", "livemode", "organization"]
    search_fields = ["customer__customer_name", "customer__email", "customer_details__email", "trace_id"]
    list_select_related = ["organization", "customer"]
    date_hierarchy = "created_at"
    raw_id_fields = ["plan", "contract", "customer", "business_entity"]
    readonly_fields = ["id", "token", "created_at", "updated_at", "completed_at", "cancelled_at", "expired_at"]
    inlines = [PaymentInline, EventInline]

    def get_search_results(self, request, queryset, search_term):
        # An id pasted into the search box finds the session directly.
        term = search_term.strip()
        try:
            return queryset.filter(pk=uuid.UUID(term)), False
        except ValueError:
            return super().get_search_results(request, queryset, search_term)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["type", "sequence", "checkout_session", "organization", "created_at", "dispatched_at"]
    list_filter = ["type", "organization"]
    search_fields = ["=checkout_session__id", "=id"]
    raw_id_fields = ["checkout_session"]
    readonly_fields = ["created_at", "dispatched_at"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "organization", "status", "response_status", "checkout_session", "created_at"]
    list_filter = ["status", "organization"]
    search_fields = ["key"]
    raw_id_fields = ["checkout_session"]
    exclude = ["response_body"]
