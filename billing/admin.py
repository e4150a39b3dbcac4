from datetime import datetime
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.admin import CurrencyValidatedAdminMixin, KeepsHistoryAdminMixin, ReadOnlyAdminMixin
from core.errors import DomainError
from core.money import format_money

from .dunning import DEFAULT_RETRY_DAYS, billing_settings_save, retry_schedule_problem
from .enums import PaymentAttemptStatus, RefundReason, RefundStatus
from .models import (
    BillingSettings,
    Contract,
    Coupon,
    CouponRedemption,
    CreditNote,
    Invoice,
    InvoiceLine,
    Payment,
    Phase,
    PhaseItem,
    Plan,
    PlanItem,
    Pricing,
    Product,
    PromotionCode,
    Refund,
    TestClock,
)
from .pricing import add_months
from .refunds import payment_refund
from .services import contract_cancel_at_period_end
from .test_clocks import test_clock_advance


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
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Contracts change only as the API changes them: amendments through checkout sessions
    (plan switch, quantity update), and "cancel at period end" here, through the same service.
    Their 20-odd fields are never hand-edited and contracts are never deleted."""

    list_display = ["short_id", "customer", "plan", "currency", "start_date", "end_date", "status", "livemode",
                    "organization"]
    list_filter = ["status", "livemode", "currency", "organization"]
    search_fields = ["=id", "customer__customer_name", "customer__email"]
    list_select_related = ["customer", "plan", "organization"]
    inlines = [PhaseInline]
    actions = ["cancel_at_period_end"]
    fields = ["id", "organization", "customer", "business_entity", "plan", "currency", "start_date", "end_date",
              "status", "livemode", "trial_end", "version", "discount", "terms_url", "terms_accepted_at",
              "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description="Contract", ordering="id")
    def short_id(self, obj):
        return str(obj.pk)[:8]

    def has_cancel_permission(self, request):
        return request.user.has_perm("billing.cancel_contract")

    @admin.action(description="Cancel at period end (the contract ends when its current period does)",
                  permissions=["cancel"])
    def cancel_at_period_end(self, request, queryset):
        for contract in queryset.select_related(None).only("id", "organization_id"):
            try:
                contract = contract_cancel_at_period_end(organization_id=contract.organization_id,
                                                         contract_id=contract.pk)
            except DomainError as error:
                self.message_user(request, f"Contract {str(contract.pk)[:8]}: {error.message}", messages.ERROR)
                continue
            self.log_change(request, contract, f"Cancelled at period end: ends on {contract.end_date} (via admin)")
            self.message_user(request, f"Contract {str(contract.pk)[:8]} ends on {contract.end_date}.",
                              messages.SUCCESS)


class PhaseItemInline(admin.TabularInline):
    model = PhaseItem
    extra = 0
    fields = ["position", "product", "pricing", "quantity"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Phase)
class PhaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "contract", "start_date", "end_date"]
    search_fields = ["=contract__id"]
    inlines = [PhaseItemInline]
    fields = ["contract", "position", "name", "plan", "start_date", "end_date"]
    readonly_fields = fields


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


class InvoicePaymentAttemptInline(admin.TabularInline):
    """Every attempt to collect the invoice (the first charge and each dunning retry): what the
    bank answered and the retry it scheduled."""

    model = Payment
    fk_name = "invoice"
    verbose_name = "payment attempt"
    verbose_name_plural = "payment attempts (first charge and retries)"
    extra = 0
    fields = ["created_at", "idempotency_key", "off_session", "card_last4", "amount", "status", "failure_code",
              "failure_message", "next_retry_at"]
    readonly_fields = fields
    ordering = ["created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    fk_name = "payment"
    extra = 0
    fields = ["created_at", "amount_display", "reason", "status", "source", "requested_by", "provider_reference",
              "failure_reason", "credit_note"]
    readonly_fields = fields
    can_delete = False
    ordering = ["created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Amount")
    def amount_display(self, obj):
        return format_money(obj.amount, obj.currency)

    @admin.display(description="Credit note")
    def credit_note(self, obj):
        note = getattr(obj, "credit_note", None)
        return f"{format_money(note.amount, note.currency)} ({str(note.pk)[:8]})" if note else "—"


class InvoiceRefundInline(RefundInline):
    fk_name = "invoice"
    verbose_name_plural = "refunds"


class CreditNoteInline(admin.TabularInline):
    model = CreditNote
    extra = 0
    fields = ["created_at", "amount_display", "reason", "refund"]
    readonly_fields = fields
    can_delete = False
    ordering = ["created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Amount")
    def amount_display(self, obj):
        return format_money(obj.amount, obj.currency)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "id", "customer", "total_display", "status", "period_start", "period_end", "created_at"]
    list_filter = ["status", "currency", "organization"]
    search_fields = ["=number", "=id", "customer__customer_name", "customer__email", "=checkout_session__id"]
    list_select_related = ["customer"]
    raw_id_fields = ["contract", "customer", "checkout_session", "business_entity"]
    inlines = [InvoiceLineInline, InvoicePaymentAttemptInline, CreditNoteInline, InvoiceRefundInline]

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
class CouponRedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # history: never edited or deleted
    list_display = ["redeemed_at", "coupon", "promotion_code", "customer", "checkout_session"]
    search_fields = ["=checkout_session__id", "coupon__name", "promotion_code__code"]
    list_select_related = ["coupon", "promotion_code", "customer"]
    raw_id_fields = ["coupon", "promotion_code", "checkout_session", "contract", "customer"]


class BillingSettingsForm(forms.ModelForm):
    """The retry days typed as "1, 3, 5, 7"; checked by the same rule the service applies."""

    retry_days = forms.CharField(
        label="Retry schedule (days after the first failure)", initial=", ".join(map(str, DEFAULT_RETRY_DAYS)),
        help_text="Increasing whole days, 1 to 10 retries, the last within 60 days. Default: 1, 3, 5, 7.")

    class Meta:
        model = BillingSettings
        fields = ["organization", "final_action"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.retry_schedule_days:
            self.initial["retry_days"] = ", ".join(map(str, self.instance.retry_schedule_days))

    def clean_retry_days(self):
        parts = [part.strip() for part in self.cleaned_data["retry_days"].replace(";", ",").split(",")]
        try:
            days = [int(part) for part in parts if part]
        except ValueError:
            raise forms.ValidationError("Give the retry days as whole numbers, e.g. 1, 3, 5, 7.") from None
        problem = retry_schedule_problem(days)
        if problem:
            raise forms.ValidationError(problem)
        return days


@admin.register(BillingSettings)
class BillingSettingsAdmin(KeepsHistoryAdminMixin, admin.ModelAdmin):
    """Each organization's dunning policy: saved through ``billing_settings_save``."""

    form = BillingSettingsForm
    list_display = ["organization", "schedule_display", "final_action"]
    list_select_related = ["organization"]
    search_fields = ["organization__name"]

    def get_readonly_fields(self, request, obj=None):
        return ["organization"] if obj else []

    @admin.display(description="Retries (days after the first failure)")
    def schedule_display(self, obj):
        return ", ".join(map(str, obj.retry_schedule_days or DEFAULT_RETRY_DAYS))

    def save_model(self, request, obj, form, change):
        saved = billing_settings_save(organization_id=obj.organization_id,
                                      retry_schedule_days=form.cleaned_data["retry_days"],
                                      final_action=form.cleaned_data["final_action"])
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at
        obj._state.adding = False


# --- payments, refunds, credit notes and test clocks (#25, #26) ---------------------------------


class RefundForm(forms.Form):
    """What ops confirm before money goes back: how much (empty: all that is left) and why."""

    amount = forms.DecimalField(required=False, min_value=Decimal("0.01"), max_digits=19, decimal_places=4,
                                help_text="Leave empty to refund all that is left.")
    reason = forms.ChoiceField(choices=[("", "---------"), *RefundReason.choices])


class AdvanceForm(forms.Form):
    frozen_time = forms.DateTimeField(label="Move the clock to", help_text="Later than the clock's time, "
                                      "at most two years on (YYYY-MM-DD HH:MM, UTC).")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Charges (checkouts' and renewals'), with their refunds. "Refund" (Finance and Admin: the
    ``billing.refund_invoice`` permission) asks for the amount and reason on a confirmation page,
    then goes through the API's service (``billing.refunds.payment_refund``)."""

    change_form_template = "admin/billing/object_tools_change_form.html"
    list_display = ["short_id", "created_at", "amount_display", "refunded_display", "status", "off_session",
                    "provider", "livemode", "organization"]
    list_filter = ["status", "off_session", "provider", "livemode", "organization"]
    search_fields = ["=id", "=invoice__id", "=checkout_session__id", "provider_reference"]
    list_select_related = ["organization"]
    fields = ["id", "organization", "livemode", "checkout_session", "invoice", "status", "amount", "amount_refunded",
              "currency", "method", "provider", "provider_reference", "saved_payment_method", "off_session",
              "card_last4", "failure_code", "failure_message", "idempotency_key", "created_at", "updated_at"]
    readonly_fields = fields
    inlines = [RefundInline]
    actions = ["action_refund"]

    @admin.display(description="Payment", ordering="id")
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj):
        return format_money(obj.amount, obj.currency)

    @admin.display(description="Refunded")
    def refunded_display(self, obj):
        return format_money(obj.amount_refunded, obj.currency) if obj.amount_refunded else "—"

    def has_refund_permission(self, request, obj=None):
        return request.user.has_perm("billing.refund_invoice")

    @admin.action(description="Refund the selected payment (asks for the amount and reason)", permissions=["refund"])
    def action_refund(self, request, queryset):
        return _one_selected_to(self, request, queryset, "admin:billing_payment_refund",
                                "Select one payment to refund.")

    def get_urls(self):
        return [path("<path:object_id>/refund/", self.admin_site.admin_view(self.refund_view),
                     name="billing_payment_refund"), *super().get_urls()]

    def refund_view(self, request, object_id):
        payment = self.get_object(request, object_id)
        if payment is None:
            raise Http404
        if not self.has_refund_permission(request):
            raise PermissionDenied
        form = RefundForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and request.POST.get("confirm") == "yes" and form.is_valid():
            try:
                refund = payment_refund(organization_id=payment.organization_id, livemode=payment.livemode,
                                        payment_id=payment.pk, amount=form.cleaned_data["amount"],
                                        reason=form.cleaned_data["reason"], source="admin",
                                        requested_by=request.user.get_username())
            except DomainError as error:
                form.add_error("amount" if "amount" in error.fields else None, error.message)
            else:
                amount = format_money(refund.amount, refund.currency)
                self.log_change(request, payment, f"Refunded {amount} ({refund.get_status_display().lower()}) "
                                                  f"(via admin) — reason: {refund.reason}")
                level = messages.ERROR if refund.status == RefundStatus.FAILED else messages.SUCCESS
                self.message_user(request, f"Refund of {amount}: {refund.get_status_display().lower()}"
                                  + (f" ({refund.failure_reason})" if refund.failure_reason else "") + ".", level)
                return HttpResponseRedirect(reverse("admin:billing_payment_change", args=[payment.pk]))
        return TemplateResponse(request, "admin/billing/payment/refund_confirmation.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "payment": payment, "form": form,
            "title": "Refund this payment?", "left": format_money(payment.amount - payment.amount_refunded,
                                                                  payment.currency),
            "refundable": payment.status == PaymentAttemptStatus.SUCCEEDED and payment.amount_refunded < payment.amount,
        })

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status == PaymentAttemptStatus.SUCCEEDED and self.has_refund_permission(request):
            context["object_tools"] = [(reverse("admin:billing_payment_refund", args=[obj.pk]), "Refund…")]
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


@admin.register(TestClock)
class TestClockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Test mode's clocks (as the API's /test-clocks). "Advance" (the ``billing.change_testclock``
    permission) moves one forward through the API's service: its customer's test-mode contracts
    renew and are charged on the way. Live contracts never follow a clock."""

    change_form_template = "admin/billing/object_tools_change_form.html"
    list_display = ["__str__", "customer", "frozen_time", "status", "organization", "created_at"]
    list_filter = ["status", "organization"]
    search_fields = ["=id", "name", "customer__customer_name", "customer__email"]
    list_select_related = ["customer", "organization"]
    fields = ["id", "organization", "customer", "name", "frozen_time", "status", "created_at", "updated_at"]
    readonly_fields = fields
    actions = ["action_advance"]

    def has_advance_permission(self, request, obj=None):
        return request.user.has_perm("billing.change_testclock")

    @admin.action(description="Advance the selected test clock (asks for the time)", permissions=["advance"])
    def action_advance(self, request, queryset):
        return _one_selected_to(self, request, queryset, "admin:billing_testclock_advance",
                                "Select one test clock to advance.")

    def get_urls(self):
        return [path("<path:object_id>/advance/", self.admin_site.admin_view(self.advance_view),
                     name="billing_testclock_advance"), *super().get_urls()]

    def advance_view(self, request, object_id):
        clock = self.get_object(request, object_id)
        if clock is None:
            raise Http404
        if not self.has_advance_permission(request):
            raise PermissionDenied
        now = clock.frozen_time
        initial = {"frozen_time": datetime.combine(add_months(now.date(), 1), now.timetz())}
        form = AdvanceForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST" and request.POST.get("confirm") == "yes" and form.is_valid():
            before = clock.frozen_time
            try:
                clock = test_clock_advance(organization_id=clock.organization_id, clock_id=clock.pk,
                                           frozen_time=form.cleaned_data["frozen_time"])
            except DomainError as error:
                form.add_error("frozen_time" if "frozen_time" in error.fields else None, error.message)
            else:
                self.log_change(request, clock, f"Advanced from {before:%Y-%m-%d %H:%M} to "
                                                f"{clock.frozen_time:%Y-%m-%d %H:%M} UTC (via admin)")
                self.message_user(request, f"{clock} is now at {clock.frozen_time:%Y-%m-%d %H:%M} UTC.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:billing_testclock_change", args=[clock.pk]))
        return TemplateResponse(request, "admin/billing/testclock/advance_confirmation.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "clock": clock, "form": form,
            "title": "Advance this test clock?",
            "contracts": clock.contracts.filter(livemode=False).count(),
        })

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_advance_permission(request):
            context["object_tools"] = [(reverse("admin:billing_testclock_advance", args=[obj.pk]), "Advance…")]
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


def _one_selected_to(model_admin, request, queryset, url_name: str, warning: str):
    """An action that works on one object at a time (through its confirmation page): go there
    with the selected object, or say to select exactly one."""
    ids = list(queryset.values_list("pk", flat=True)[:2])
    if len(ids) != 1:
        model_admin.message_user(request, warning, messages.WARNING)
        return None
    return HttpResponseRedirect(reverse(url_name, args=[ids[0]]))
