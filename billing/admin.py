from django.contrib import admin

from core.admin import CurrencyValidatedAdminMixin, ReadOnlyAdminMixin
from core.money import format_money

from .models import (
    Contract,
    Coupon,
    CouponRedemption,
    Invoice,
    InvoiceLine,
    Phase,
    PhaseItem,
    Plan,
    PlanItem,
    Pricing,
    Product,
    PromotionCode,
)
from .services import contract_version_bump


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
    list_display = ["name", "code", "version", "currency", "status", "trial_period_days", "organization"]
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
class ContractAdmin(CurrencyValidatedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "customer", "plan", "currency", "start_date", "end_date", "status", "organization"]
    list_filter = ["status", "currency", "organization"]
    search_fields = ["=id", "customer__customer_name", "customer__email"]
    list_select_related = ["customer", "plan", "organization"]
    raw_id_fields = ["customer", "business_entity", "plan"]
    inlines = [PhaseInline]

    def get_readonly_fields(self, request, obj=None):
        # The mode is fixed at creation: moving a contract between test and live would let a
        # key of the other mode amend it.
        return ["version", "livemode"] if obj else ["version"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:  # hand edits change terms too: sessions priced before them go stale
            contract_version_bump(contract_id=form.instance.pk)


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

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        contract_version_bump(contract_id=form.instance.contract_id)


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
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "customer", "total_display", "status", "period_start", "period_end", "created_at"]
    list_filter = ["status", "currency", "organization"]
    search_fields = ["=id", "customer__customer_name", "customer__email", "=checkout_session__id"]
    list_select_related = ["customer"]
    raw_id_fields = ["contract", "customer", "checkout_session"]
    inlines = [InvoiceLineInline]

    @admin.display(description="Total", ordering="total")
    def total_display(self, obj):
        return format_money(obj.total, obj.currency)



class PromotionCodeInline(admin.TabularInline):
    model = PromotionCode
    extra = 1
    fields = ["code", "is_active", "valid_until", "max_redemptions", "times_redeemed"]
    readonly_fields = ["times_redeemed"]


@admin.register(Coupon)
class CouponAdmin(CurrencyValidatedAdminMixin, admin.ModelAdmin):
    """Coupons and their promotion codes. A code belongs to its coupon's organization."""

    list_display = ["name", "off_display", "duration", "duration_in_periods", "times_redeemed", "max_redemptions",
                    "valid_until", "livemode", "organization"]
    list_filter = ["duration", "livemode", "organization"]
    search_fields = ["name", "=id", "promotion_codes__code"]
    list_select_related = ["organization"]
    filter_horizontal = ["plans"]
    readonly_fields = ["times_redeemed"]
    fields = ["organization", "livemode", "name", "percent_off", "amount_off", "currency", "duration",
              "duration_in_periods", "valid_from", "valid_until", "max_redemptions", "times_redeemed", "plans"]
    inlines = [PromotionCodeInline]

    @admin.display(description="Off")
    def off_display(self, obj):
        if obj.percent_off is not None:
            return f"{obj.percent_off.normalize():f} %"
        return format_money(obj.amount_off, obj.currency) if obj.amount_off is not None else ""

    def save_formset(self, request, form, formset, change):
        for code in formset.save(commit=False):
            code.organization_id = form.instance.organization_id
            code.save()
        for code in formset.deleted_objects:
            code.delete()


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["redeemed_at", "coupon", "promotion_code", "customer", "checkout_session"]
    search_fields = ["=checkout_session__id", "coupon__name", "promotion_code__code"]
    list_select_related = ["coupon", "promotion_code", "customer"]
    raw_id_fields = ["coupon", "promotion_code", "checkout_session", "contract", "customer"]
