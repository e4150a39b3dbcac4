"""The ops dashboard: "why did people not pay?" (issue #29). A date range (last 30 days by
default) compared with the same number of days before it; the funnel (created → page opened →
payment attempted → completed) in total, per day, per plan and per attribution source; the
reasons sessions were not paid; trial conversion; MRR and revenue booked.

Staff with the view permission on checkout sessions only (``CheckoutSessionAdmin`` routes it
through ``admin_site.admin_view``: anyone else is sent to the admin login, staff without the
permission get 403). The numbers come from ``checkout.dashboard``; this module only draws
them: SVG charts (``checkout.charts``), each beside a table of the same numbers.
"""

import datetime
from decimal import Decimal

from babel.dates import format_date
from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from checkout import charts
from checkout.dashboard import (
    MAX_DAYS,
    STEPS,
    Funnel,
    OpsDashboard,
    Period,
    dashboard_default_livemode,
    dashboard_range,
    ops_dashboard_get,
)
from checkout.pages import current_locale, day, money, number
from core.dbrouter import replica_reads
from core.errors import DomainError
from core.models import Organization

CHART_ROWS = 12  # bars drawn per breakdown; the table lists every row
STEP_NAMES = {"created": gettext_lazy("Created"), "opened": gettext_lazy("Page opened"),
              "attempted": gettext_lazy("Payment attempted"), "completed": gettext_lazy("Completed")}


class DashboardFilterForm(forms.Form):
    mode = forms.ChoiceField(label=gettext_lazy("Mode"), required=False,
                             choices=[("", gettext_lazy("Automatic (live if it has sessions, else test)")),
                                      ("live", gettext_lazy("Live")), ("test", gettext_lazy("Test"))])
    organization = forms.ModelChoiceField(label=gettext_lazy("Organization"), required=False,
                                          queryset=Organization.objects.order_by("name"),
                                          empty_label=gettext_lazy("All organizations"))
    start = forms.DateField(label=gettext_lazy("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                          help_text=gettext_lazy("Days in UTC, both included; at most %(days)s.") % {"days": MAX_DAYS})

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["range"] = dashboard_range(cleaned.get("start"), cleaned.get("end"),
                                               timezone.now().astimezone(datetime.UTC).date())
        except DomainError as error:
            self.add_error(next(iter(error.fields), None), error.message)
        return cleaned


@replica_reads  # lag-tolerant: counts over days
def conversion_dashboard_view(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = DashboardFilterForm(request.GET)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Why did people not pay? Checkout dashboard"),
        "form": form,
    }
    if form.is_valid():
        data = form.cleaned_data
        organization = data.get("organization")
        first_day, last_day = data["range"]
        mode = data.get("mode")
        if mode:
            livemode = mode == "live"
        else:
            since = datetime.datetime.combine(first_day, datetime.time.min, tzinfo=datetime.UTC)
            livemode = dashboard_default_livemode(organization_id=organization.pk if organization else None,
                                                  since=since)
        dashboard = ops_dashboard_get(livemode=livemode, organization_id=organization.pk if organization else None,
                                      first_day=first_day, last_day=last_day)
        context.update(organization=organization, mode_chosen=bool(mode),
                       **dashboard_present(dashboard))
    return TemplateResponse(request, "admin/checkout/checkoutsession/dashboard.html", context,
                            status=200 if form.is_valid() else 422)


# --- presentation -------------------------------------------------------------------------


count = number  # "1,234,567": the admin is English (no LocaleMiddleware)


def rate(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def change(now: int | Decimal, before: int | Decimal) -> str:
    """"+12.5 %" / "−3.0 %" / "new" / "=": how ``now`` compares with the previous period."""
    if now == before:
        return "="
    if not before:
        return _("new")
    delta = (Decimal(now) - Decimal(before)) / Decimal(before)
    return f"{'+' if delta > 0 else '−'}{abs(delta):.1%}"


def trend(now, before) -> str:
    return "up" if now > before else "down" if now < before else "same"


def short_day(value) -> str:
    """"Nov 5" (the year is in the period above the charts)."""
    return format_date(value, "MMM d", locale=current_locale())


def funnel_cells(funnel: Funnel) -> list[str]:
    return [count(funnel.created), count(funnel.opened), count(funnel.attempted), count(funnel.completed),
            rate(funnel.conversion), count(funnel.expired), count(funnel.cancelled)]


def _fold(rows: list[tuple[str, Funnel]], limit: int, other: str) -> list[tuple[str, Funnel]]:
    """The first ``limit`` rows, the rest added up as one."""
    if len(rows) <= limit:
        return rows
    rest = sum((funnel for _label, funnel in rows[limit - 1:]), Funnel())
    return rows[:limit - 1] + [(other % {"count": len(rows) - limit + 1}, rest)]


def _breakdown(chart_id: str, title: str, rows) -> dict:
    drawn = _fold(list(rows), CHART_ROWS, _("Other (%(count)s)"))
    return {
        "chart": charts.overlaid_bars(
            chart_id, title=title,
            description=_("Sessions created and, drawn over them, those completed; the numbers are in the "
                          "table beside the chart."),
            rows=[(label, f.created, f.completed) for label, f in drawn],
            outer=charts.Series(_("created"), "s-created", ()),
            inner=charts.Series(_("completed"), "s-completed", ())),
        "rows": [(label, funnel_cells(funnel)) for label, funnel in rows],
    }


def _money_rows(now: dict, before: dict) -> list[dict]:
    return [{"currency": currency, "now": money(now.get(currency, Decimal(0)), currency),
             "before": money(before.get(currency, Decimal(0)), currency),
             "change": change(now.get(currency, Decimal(0)), before.get(currency, Decimal(0))),
             "trend": trend(now.get(currency, Decimal(0)), before.get(currency, Decimal(0)))}
            for currency in sorted(set(now) | set(before))]


def _period_words(period: Period) -> str:
    return _("%(first)s – %(last)s") % {"first": day(period.first_day), "last": day(period.last_day)}


def dashboard_present(dashboard: OpsDashboard) -> dict:
    current, previous = dashboard.current, dashboard.previous
    now, before = current.funnel, previous.funnel
    steps = [{"name": STEP_NAMES[step], "value": count(getattr(now, step)),
              "of_previous_step": rate(now.step_rate(step)),
              "before": count(getattr(before, step)),
              "change": change(getattr(now, step), getattr(before, step)),
              "trend": trend(getattr(now, step), getattr(before, step))} for step in STEPS]
    failures_now, failures_before = current.failures, previous.failures
    before_declines = {code: sessions for code, _attempts, sessions in failures_before.declines}
    reasons = [
        {"reason": _("Card declined: %(code)s") % {"code": code}, "sessions": count(sessions),
         "detail": _("%(attempts)s attempt(s)") % {"attempts": count(attempts)},
         "before": count(before_declines.get(code, 0)), "change": change(sessions, before_declines.get(code, 0))}
        for code, attempts, sessions in failures_now.declines
    ] + [
        {"reason": label, "sessions": count(value), "detail": detail, "before": count(value_before),
         "change": change(value, value_before)}
        for label, value, value_before, detail in (
            (_("3-D Secure abandoned"), failures_now.authentication_abandoned,
             failures_before.authentication_abandoned, _("the customer did not finish authenticating")),
            (_("Expired after opening the page"), failures_now.expired_opened, failures_before.expired_opened,
             _("looked, did not pay")),
            (_("Expired without a page view"), failures_now.expired_unopened, failures_before.expired_unopened,
             _("the link was never opened")),
            (_("Cancelled"), failures_now.cancelled, failures_before.cancelled,
             _("by the customer on the page, or by the merchant")),
        )
    ]
    active_days = [(d, f) for d, f in dashboard.days if f.created]
    labels = [short_day(d) for d, _f in dashboard.days]
    label_every = max(1, len(labels) // 8)
    day_series = [
        charts.Series(_("completed"), "s-completed", [f.completed for _d, f in dashboard.days]),
        charts.Series(_("attempted, not completed"), "s-attempted",
                      [f.attempted - f.completed for _d, f in dashboard.days]),
        charts.Series(_("opened, no attempt"), "s-opened", [f.opened - f.attempted for _d, f in dashboard.days]),
        charts.Series(_("never opened"), "s-unopened", [f.created - f.opened for _d, f in dashboard.days]),
    ]
    return {
        "livemode": dashboard.livemode,
        "period": _period_words(current),
        "previous_period": _period_words(previous),
        "days_count": len(dashboard.days),
        "steps": steps,
        "conversion": rate(now.conversion),
        "conversion_before": rate(before.conversion),
        "funnel_chart": charts.funnel(
            "funnel", title=_("Checkout funnel"),
            description=_("Sessions created, whose page was opened, with a payment attempted, completed; the "
                          "numbers are in the table beside the chart."),
            steps=[(str(STEP_NAMES[step]), getattr(now, step)) for step in STEPS]),
        "reasons": reasons,
        "trials": {"created": count(current.trials_created), "completed": count(current.trials_completed),
                   "conversion": rate(current.trial_conversion),
                   "before": rate(previous.trial_conversion)},
        "mrr": _money_rows(current.mrr, previous.mrr),
        "revenue": _money_rows(current.revenue, previous.revenue),
        "daily_chart": charts.stacked_columns(
            "daily-funnel", title=_("Sessions per day, by how far they got"),
            description=_("Stacked columns, one per day of creation: completed, attempted but not completed, "
                          "opened without an attempt, never opened. The numbers are in the table below."),
            labels=labels, series=day_series, tick_label=lambda v: f"{v:,.0f}", whole=True,
            label_every=label_every),
        "day_legend": [(s.css, s.name) for s in day_series],
        "daily_rows": [(short_day(d), funnel_cells(f)) for d, f in active_days],
        "quiet_days": len(dashboard.days) - len(active_days),
        "totals": funnel_cells(now),
        "plans": _breakdown("by-plan", _("Sessions per plan"), dashboard.plans),
        "sources": _breakdown("by-source", _("Sessions per attribution source / campaign"), dashboard.sources),
    }
