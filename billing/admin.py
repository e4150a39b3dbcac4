from django.contrib import admin

from core.money import format_money

from .models import Contract, Invoice, InvoiceLine, Phase, PhaseItem, Plan, PlanItem, Pricing, Product


class PricingInline(admin.TabularInline):
    model = Pricing
    extra = 0
    fields = ["name", "currency", "pricing_model", "billing", "cadence", "timing", "unit_amount",
              "package_size", "tiers"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "external_id", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "sku", "external_id", "=id"]
    list_select_related = ["organization"]
    inlines = [PricingInline]


@admin.register(Pricing)
class PricingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "product", "pricing_model", "billing", "cadence", "timing", "unit_amount",
                    "currency"]
    list_filter = ["pricing_model", "billing", "timing", "currency", "organization"]
    search_fields = ["name", "product__name", "=id"]
    list_select_related = ["product"]
    raw_id_fields = ["product"]


class PlanItemInline(admin.TabularInline):
    model = PlanItem
    extra = 0
    raw_id_fields = ["product", "pricing"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "version", "currency", "status", "organization"]
    list_filter = ["status", "currency", "organization"]
    search_fields = ["name", "code", "=id"]
    list_select_related = ["organization"]
    inlines = [PlanItemInline]


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0
    fields = ["position", "name", "plan", "start_date", "end_date"]
    raw_id_fields = ["plan"]
    show_change_link = True


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "plan", "currency", "start_date", "end_date", "status", "organization"]
    list_filter = ["status", "currency", "organization"]
    search_fields = ["=id", "customer__customer_name", "customer__email"]
    list_select_related = ["customer", "plan", "organization"]
    raw_id_fields = ["customer", "business_entity", "plan"]
    inlines = [PhaseInline]


class PhaseItemInline(admin.TabularInline):
    model = PhaseItem
    extra = 0
    raw_id_fields = ["product", "pricing"]


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    list_display = ["__str__", "contract", "start_date", "end_date"]
    search_fields = ["=contract__id"]
    raw_id_fields = ["contract", "plan"]
    inlines = [PhaseItemInline]


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    raw_id_fields = ["product"]

    # Invoices are issued by checkout and never hand-edited or deleted (history is never rewritten).
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "total_display", "status", "period_start", "period_end", "created_at"]
    list_filter = ["status", "currency", "organization"]
    search_fields = ["=id", "customer__customer_name", "customer__email", "=checkout_session__id"]
    list_select_related = ["customer"]
    raw_id_fields = ["contract", "customer", "checkout_session"]
    inlines = [InvoiceLineInline]

    @admin.display(description="Total", ordering="total")
    def total_display(self, obj):
        return format_money(obj.total, obj.currency)

    # Invoices are issued by checkout and never hand-edited or deleted (history is never rewritten).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
