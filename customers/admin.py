from django.contrib import admin, messages

from core.admin import KeepsHistoryAdminMixin
from core.errors import DomainError

from .models import Customer
from .services import customer_anonymise


@admin.register(Customer)
class CustomerAdmin(KeepsHistoryAdminMixin, admin.ModelAdmin):
    """Customers are edited here but never deleted (their contracts and invoices point at
    them): an erasure request is the "Anonymise" action (customers.services.customer_anonymise)."""

    list_display = ["customer_name", "email", "external_id", "organization", "created_at"]
    list_filter = ["organization", "created_at"]
    search_fields = ["customer_name", "email", "external_id", "=id"]
    list_select_related = ["organization"]
    raw_id_fields = ["business_entity"]
    readonly_fields = ["id", "created_at", "updated_at"]
    actions = ["anonymise"]

    def has_anonymise_permission(self, request):
        return request.user.has_perm("customers.anonymise_customer")

    @admin.action(description="Anonymise (erase personal data, keep invoices and contracts)",
                  permissions=["anonymise"])
    def anonymise(self, request, queryset):
        done = 0
        for customer in queryset.select_related(None).only("id", "organization_id"):
            try:
                customer = customer_anonymise(organization_id=customer.organization_id, customer_id=customer.pk)
            except DomainError as error:
                self.message_user(request, f"Customer {customer.pk}: {error.message}", messages.ERROR)
                continue
            self.log_change(request, customer, "Anonymised (personal data erased, via admin)")
            done += 1
        if done:
            self.message_user(request, f"Anonymised {done} customer(s).", messages.SUCCESS)
