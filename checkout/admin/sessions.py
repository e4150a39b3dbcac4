import csv
import uuid
from functools import partial

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, StreamingHttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.enums import RefundReason
from checkout.admin.dashboard import conversion_dashboard_view
from checkout.admin.refunds import session_payment_refund, session_refundable
from checkout.admin.timeline import session_timeline
from checkout.enums import CancellationReason, SessionStatus
from checkout.models import CheckoutSession, Event, IdempotencyRecord
from checkout.pages import money, present_invoice
from checkout.services.confirm import checkout_session_payment_resolve
from checkout.services.lifecycle import checkout_session_cancel, checkout_session_expire_now
from checkout.services.receipts import checkout_session_receipt_resend
from core.admin import ReadOnlyAdminMixin
from core.errors import DomainError


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(admin.ModelAdmin):
    """Sessions are created by the API and change state only through the services: every
    field is read-only here, and the transitions are actions (on the list, or buttons on a
    session's page) that call the same services the page and the API use."""

    # Fits 1,400 px: short ids (the full one is on the session's page and found by search),
    # short dates, the amount formatted for its currency.
    list_display = ["short_id", "state", "amount_due", "customer_display", "created", "expires"]
    list_filter = ["status", "payment_status", "checkout_type", "guest_checkout", "livemode", "organization"]
    # Partial ids, contract ids and metadata values too: admin search is a scan, fine for ops.
    search_fields = ["id", "customer__customer_name", "customer__email", "customer_details__email", "trace_id",
                     "contract__id", "metadata"]
    list_select_related = ["organization", "customer"]
    date_hierarchy = "created_at"
    raw_id_fields = ["plan", "contract", "customer", "business_entity"]
    actions = ["action_cancel", "action_expire", "action_payment_received", "action_payment_failed",
               "action_resend_receipt"]
    change_form_template = "admin/checkout/checkoutsession/change_form.html"
    change_list_template = "admin/checkout/checkoutsession/change_list.html"
    fieldsets = [
        (None, {"fields": ["id", "organization", "checkout_type", "status", "payment_status", "payment_method",
                           "livemode", "payment_link", "expires_at"]}),
        (_("Timeline"), {"fields": ["timeline"]}),
        (_("Estimate (locked)"), {"fields": ["estimate_table"]}),
        (_("Parties"), {"fields": ["business_entity", "customer", "guest_checkout", "customer_details", "plan",
                                  "contract", "currency", "start_date", "end_date"]}),
        (_("Redirects"), {"fields": ["success_url", "pending_url", "cancel_url"]}),
        (_("Timestamps"), {"fields": ["created_at", "updated_at", "completed_at", "cancelled_at", "expired_at",
                                     "cancellation_reason", "cancellation_detail"]}),
        (_("Raw data"), {"classes": ["collapse"],
                         "fields": ["quote", "estimates", "contract_spec", "product_overrides", "attribution",
                                    "metadata", "trace_id"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = [f for _name, options in self.fieldsets for f in options["fields"]]
        return fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Every field is read-only: the page is "View checkout session", without Save buttons.
        # What may change is done by the transitions, each behind its own permission.
        return False

    def has_delete_permission(self, request, obj=None):
        # History is never rewritten: cancel or expire instead.
        return False

    # The ops roles' action permissions (core.roles): Support cancels and resends receipts,
    # Finance exports, Admin also resolves payments.
    def has_cancel_permission(self, request, obj=None):
        return request.user.has_perm("checkout.cancel_checkoutsession")

    def has_resolve_permission(self, request, obj=None):
        return request.user.has_perm("checkout.resolve_checkoutsession")

    def has_resend_receipt_permission(self, request, obj=None):
        return request.user.has_perm("checkout.resend_receipt_checkoutsession")

    def has_export_permission(self, request, obj=None):
        return request.user.has_perm("checkout.export_checkoutsession")

    def has_refund_permission(self, request, obj=None):
        return request.user.has_perm("billing.refund_invoice")

    TRANSITION_PERMISSIONS = {"cancel": "cancel", "expire": "cancel", "payment_received": "resolve",
                              "payment_failed": "resolve", "resend_receipt": "resend_receipt", "refund": "refund"}

    def may(self, request, action: str) -> bool:
        return getattr(self, f"has_{self.TRANSITION_PERMISSIONS[action]}_permission")(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        # An id pasted into the search box finds the session directly.
        term = search_term.strip()
        try:
            return queryset.filter(pk=uuid.UUID(term)), False
        except ValueError:
            return super().get_search_results(request, queryset, search_term)

    # -- read-only displays --

    @admin.display(description=_("Session"), ordering="id")
    def short_id(self, obj):
        return format_html('<span title="{}">{}…</span>', obj.pk, str(obj.pk)[:8])

    @admin.display(description=_("Status"), ordering="status")
    def state(self, obj):
        """"Open · payment failed", "Completed · paid (live)": status, payment and mode at once."""
        text = obj.get_status_display()
        if obj.payment_status != "not_started":
            text += f" · {obj.get_payment_status_display().lower()}"
        return text + (" (live)" if obj.livemode else "")

    @admin.display(description=_("Customer"), ordering="customer__customer_name")
    def customer_display(self, obj):
        if obj.customer_id:
            name = obj.customer.email or obj.customer.customer_name
        else:
            details = obj.customer_details or {}
            name = f"{details.get('email') or details.get('customer_name') or '—'} (guest)"
        return name if len(name) <= 32 else name[:31] + "…"

    @admin.display(description=_("Created"), ordering="created_at")
    def created(self, obj):
        return f"{obj.created_at:%b %d %H:%M}"

    @admin.display(description=_("Expires"), ordering="expires_at")
    def expires(self, obj):
        return f"{obj.expires_at:%b %d %H:%M}"

    @admin.display(description=_("Amount due"))
    def amount_due(self, obj):
        invoice = (obj.estimates or {}).get("current_invoice") or {}
        if invoice.get("amount_due") is None:
            # No stored estimate: the reporting column (the current invoice's total) if set.
            return "-" if obj.amount_total is None else money(obj.amount_total, obj.currency)
        return money(invoice["amount_due"], invoice.get("currency") or obj.currency)

    # -- CSV export of the list as filtered --

    CSV_COLUMNS = ["id", "organization_id", "livemode", "checkout_type", "status", "payment_status", "currency",
                   "amount_due", "customer_id", "plan_id", "contract_id", "utm_source", "utm_campaign",
                   "created_at", "expires_at", "completed_at", "cancelled_at", "expired_at", "trace_id"]

    def export_csv_view(self, request):
        if not self.has_export_permission(request):
            raise PermissionDenied
        # The changelist's own queryset: the filters, search and date drill-down on screen.
        queryset = self.get_changelist_instance(request).get_queryset(request)
        rows = queryset.select_related(None).order_by("created_at", "id").iterator(chunk_size=2000)
        writer = csv.writer(_Echo())

        def lines():
            yield writer.writerow(self.CSV_COLUMNS)
            for session in rows:
                attribution = session.attribution or {}
                invoice = (session.estimates or {}).get("current_invoice") or {}
                values = {
                    **{name: getattr(session, name, "") for name in self.CSV_COLUMNS},
                    "amount_due": invoice.get("amount_due", ""),
                    "utm_source": attribution.get("utm_source", ""),
                    "utm_campaign": attribution.get("utm_campaign", ""),
                }
                yield writer.writerow([csv_cell(values[name]) for name in self.CSV_COLUMNS])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="checkout-sessions.csv"'
        self.log_action_export(request)
        return response

    def log_action_export(self, request):
        from django.contrib.admin.models import CHANGE, LogEntry
        from django.contrib.contenttypes.models import ContentType

        # A list export names no single object, so the entry is written directly.
        LogEntry.objects.create(
            user_id=request.user.pk, content_type=ContentType.objects.get_for_model(CheckoutSession),
            object_repr=f"CSV export ({request.GET.urlencode() or 'all'})"[:200], action_flag=CHANGE,
            change_message="Exported the session list as CSV (via admin)",
        )

    @admin.display(description=_("Payment link"))
    def payment_link(self, obj):
        """The hosted page's address, to copy and send the customer (open sessions), or to look
        at (a closed session's page shows its final state)."""
        if not obj.token:
            return "-"
        url = settings.PUBLIC_BASE_URL + reverse("checkout:page", args=[obj.token])
        return format_html(
            '<input type="text" readonly value="{}" id="payment-link" size="60" aria-label="{}"> '
            '<button type="button" class="button" data-copy="payment-link">{}</button> '
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            url, _("Payment link"), _("Copy payment link"), url, _("Open the hosted page"))

    @admin.display(description=_("Estimate"))
    def estimate_table(self, obj):
        estimates = obj.estimates or {}
        if not estimates.get("current_invoice"):
            return _("No estimate.")
        return render_to_string("admin/checkout/checkoutsession/estimate.html", {
            "invoices": [
                present_invoice(estimates.get("current_invoice"), title=_("Current invoice (due at checkout)")),
                present_invoice(estimates.get("next_invoice"), title=_("Next invoice")),
            ],
        })

    @admin.display(description=_("Timeline"))
    def timeline(self, obj):
        if obj.pk is None:
            return "-"
        return render_to_string("admin/checkout/checkoutsession/timeline.html", {"entries": session_timeline(obj)})

    # -- transitions (shared by list actions and the buttons on a session's page) --

    TRANSITIONS = {
        "cancel": _("Cancel"),
        "expire": _("Expire now"),
        "payment_received": _("Mark payment received"),
        "payment_failed": _("Mark payment failed"),
        "resend_receipt": _("Resend receipt"),
        "refund": _("Refund the payment"),
    }

    def _transition(self, request, session: CheckoutSession, action: str, reason: str = "",
                    detail: str = "") -> bool:
        """Run one transition through its service; refusals become admin messages."""
        try:
            if action == "cancel":
                note = f"Cancelled in admin by {request.user}" + (f": {detail}" if detail else "")
                checkout_session_cancel(
                    organization_id=session.organization_id, session_id=session.pk,
                    reason=reason, detail=note[:500],
                )
            elif action == "expire":
                checkout_session_expire_now(session_id=session.pk)
            elif action in ("payment_received", "payment_failed"):
                checkout_session_payment_resolve(session_id=session.pk, succeeded=action == "payment_received")
            elif action == "refund":
                refund = session_payment_refund(session, reason=reason, requested_by=request.user.get_username())
                if refund.status == "failed":
                    self.message_user(request, f"Session {session.pk}: the refund failed: {refund.failure_reason}",
                                      messages.ERROR)
                    return False
                note = f"Refunded {money(refund.amount, refund.currency)} ({refund.get_status_display().lower()})"
                self.log_change(request, session, f"{note} (via admin) — reason: {reason}")
                return True
            elif action == "resend_receipt":
                if not checkout_session_receipt_resend(session_id=session.pk):
                    self.message_user(request, f"Session {session.pk}: no receipt sent (the customer has no email "
                                               "address).", messages.WARNING)
                    return False
            else:
                raise ValueError(action)
        except DomainError as error:
            self.message_user(request, f"Session {session.pk}: {error.message}", messages.ERROR)
            return False
        note = f" — reason: {reason}" if reason else ""
        self.log_change(request, session, f"{self.TRANSITIONS[action]} (via admin){note}")
        return True

    def _bulk(self, request, queryset, action: str, **kwargs):
        done = sum(self._transition(request, session, action, **kwargs)
                   for session in queryset.select_related(None).only("id", "organization_id"))
        if done:
            self.message_user(request, _("%(action)s: %(count)d session(s).") % {
                "action": self.TRANSITIONS[action], "count": done}, messages.SUCCESS)

    @admin.action(description=_("Cancel selected open sessions"), permissions=["cancel"])
    def action_cancel(self, request, queryset):
        reason, detail = self._cancel_reason(request)
        if reason is None:
            # Like "delete selected": an intermediate page asks for a reason and a confirmation.
            return self._cancel_confirmation(request, list(queryset.select_related(None).only("id")), form_action="")
        self._bulk(request, queryset, "cancel", reason=reason, detail=detail)
        return None

    @staticmethod
    def _cancel_reason(request):
        """The reason (one of the API's) and detail of a confirmed cancel, or (None, "")."""
        reason = request.POST.get("reason", "")
        if request.POST.get("confirm") != "yes" or reason not in CancellationReason.values:
            return None, ""
        return reason, request.POST.get("detail", "").strip()[:400]

    def _cancel_confirmation(self, request, sessions, *, form_action):
        return TemplateResponse(request, "admin/checkout/checkoutsession/cancel_confirmation.html", {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Cancel checkout sessions?"),
            "sessions": sessions,
            "reasons": CancellationReason.choices,
            "form_action": form_action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })

    @admin.action(description=_("Expire selected open sessions now"), permissions=["cancel"])
    def action_expire(self, request, queryset):
        self._bulk(request, queryset, "expire")

    @admin.action(description=_("Mark payment received (processing sessions)"), permissions=["resolve"])
    def action_payment_received(self, request, queryset):
        self._bulk(request, queryset, "payment_received")

    @admin.action(description=_("Mark payment failed (processing sessions)"), permissions=["resolve"])
    def action_payment_failed(self, request, queryset):
        self._bulk(request, queryset, "payment_failed")

    @admin.action(description=_("Resend receipt (completed sessions)"), permissions=["resend_receipt"])
    def action_resend_receipt(self, request, queryset):
        self._bulk(request, queryset, "resend_receipt")

    def get_urls(self):
        urls = [
            path("<path:object_id>/transition/<str:action>/", self.admin_site.admin_view(self.transition_view),
                 name="checkout_checkoutsession_transition"),
            path("export.csv", self.admin_site.admin_view(self.export_csv_view),
                 name="checkout_checkoutsession_export"),
            path("dashboard/", self.admin_site.admin_view(partial(conversion_dashboard_view, self)),
                 name="checkout_checkoutsession_dashboard"),
        ]
        return urls + super().get_urls()

    def transition_view(self, request, object_id, action):
        if request.method != "POST" and action not in ("cancel", "refund"):
            return HttpResponseNotAllowed(["POST"])
        session = self.get_object(request, object_id)
        if session is None or action not in self.TRANSITIONS:
            raise Http404
        if not self.may(request, action):
            raise PermissionDenied
        kwargs = {}
        if action == "cancel":
            reason, detail = self._cancel_reason(request) if request.method == "POST" else (None, "")
            if reason is None:
                return self._cancel_confirmation(request, [session], form_action=request.path)
            kwargs = {"reason": reason, "detail": detail}
        elif action == "refund":
            reason = request.POST.get("reason", "")
            if request.POST.get("confirm") != "yes" or reason not in RefundReason.values:
                return TemplateResponse(request, "admin/checkout/checkoutsession/refund_confirmation.html", {
                    **self.admin_site.each_context(request), "opts": self.model._meta, "session": session,
                    "title": _("Refund this payment?"), "reasons": RefundReason.choices,
                    "left": session_refundable(session)})
            kwargs = {"reason": reason}
        if self._transition(request, session, action, **kwargs):
            self.message_user(request, _("%(action)s: done.") % {"action": self.TRANSITIONS[action]},
                              messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:checkout_checkoutsession_change", args=[session.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            available = []
            if obj.status == SessionStatus.OPEN:
                available = ["cancel", "expire"]
            elif obj.status == SessionStatus.PROCESSING:
                available = ["payment_received", "payment_failed"]
            elif obj.status == SessionStatus.COMPLETED:
                available = ["resend_receipt"] + (["refund"] if obj.payment_status == "paid" else [])
            context["transitions"] = [
                (reverse("admin:checkout_checkoutsession_transition", args=[obj.pk, name]), self.TRANSITIONS[name])
                for name in available if self.may(request, name)
            ]
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


class _Echo:
    """csv.writer target that hands each row back instead of buffering it (streaming)."""

    def write(self, value):
        return value


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["type", "sequence", "checkout_session", "organization", "created_at", "dispatched_at"]
    list_filter = ["type", "organization"]
    search_fields = ["=checkout_session__id", "=id"]
    raw_id_fields = ["checkout_session"]
    readonly_fields = ["created_at", "dispatched_at"]



@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What the API answered each key: read-only history (purged by age, never by hand)."""

    list_display = ["key", "organization", "livemode", "status", "response_status", "checkout_session", "created_at"]
    list_filter = ["livemode", "status", "organization"]
    search_fields = ["key"]
    raw_id_fields = ["checkout_session"]
    exclude = ["response_body"]
