"""The conversion dashboard: the last 30 days of checkout, by day, plan and attribution source,
and the revenue booked per currency. Staff with the view permission on checkout sessions only
(``CheckoutSessionAdmin`` routes it through ``admin_site.admin_view``: anyone else is sent to
the admin login, staff without the permission get 403).

The numbers come from one selector (``conversion_dashboard_get``); this module only draws them:
an SVG chart (``checkout.charts``) and, beside it, a table of the same numbers.
"""

from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_compact_currency
from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from checkout import charts
from checkout.pages import current_locale, day, money, number
from checkout.selectors import DASHBOARD_DAYS, ConversionDashboard, Outcomes, conversion_dashboard_get
from core.models import Organization

# Okabe–Ito colours (distinguishable with colour-blindness), as CSS classes: dashboard.css.
OUTCOME_SERIES = (("completed", gettext_lazy("completed")), ("expired", gettext_lazy("expired")),
                  ("cancelled", gettext_lazy("cancelled")), ("still_open", gettext_lazy("still open")))
CHART_ROWS = 12  # bars drawn per breakdown; the table lists every row


class DashboardFilterForm(forms.Form):
    mode = forms.ChoiceField(label=gettext_lazy("Mode"), required=False,
                             choices=[("live", gettext_lazy("Live")), ("test", gettext_lazy("Test"))])
    organization = forms.ModelChoiceField(label=gettext_lazy("Organization"), required=False,
                                          queryset=Organization.objects.order_by("name"),
                                          empty_label=gettext_lazy("All organizations"))


def conversion_dashboard_view(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = DashboardFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    organization = data.get("organization")
    dashboard = conversion_dashboard_get(livemode=data.get("mode") != "test",
                                         organization_id=organization.pk if organization else None)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Conversion dashboard"),
        "form": form,
        "organization": organization,
        **dashboard_present(dashboard, with_organization=organization is None),
    }
    return TemplateResponse(request, "admin/checkout/checkoutsession/dashboard.html", context)


# --- presentation -------------------------------------------------------------------------


count = number  # "1,234,567": the admin is English (no LocaleMiddleware)


def rate(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def outcome_cells(outcomes: Outcomes) -> list[str]:
    return [count(outcomes.created), count(outcomes.completed), count(outcomes.expired),
            count(outcomes.cancelled), count(outcomes.still_open), rate(outcomes.conversion)]


def _fold(rows: list[tuple[str, Outcomes]], limit: int, other: str) -> list[tuple[str, Outcomes]]:
    """The first ``limit`` rows, the rest added up as one."""
    if len(rows) <= limit:
        return rows
    rest = sum((outcomes for _label, outcomes in rows[limit - 1:]), Outcomes())
    return rows[:limit - 1] + [(other % {"count": len(rows) - limit + 1}, rest)]


def _breakdown(chart_id: str, title: str, rows: list[tuple[str, Outcomes]]) -> dict:
    drawn = _fold(rows, CHART_ROWS, _("Other (%(count)s)"))
    return {
        "chart": charts.overlaid_bars(
            chart_id, title=title,
            description=_("Sessions created and, drawn over them, those completed; the numbers are in the "
                          "table beside the chart."),
            rows=[(label, o.created, o.completed) for label, o in drawn],
            outer=charts.Series(_("created"), "s-created", ()),
            inner=charts.Series(_("completed"), "s-completed", ())),
        "rows": [(label, outcome_cells(outcomes)) for label, outcomes in rows],
    }


def _compact_money(currency: str):
    locale = current_locale()
    return lambda value: format_compact_currency(value, currency, locale=locale, fraction_digits=1)


def short_day(value) -> str:
    """"Nov 5" (the year is in the period above the charts)."""
    return format_date(value, "MMM d", locale=current_locale())


def dashboard_present(dashboard: ConversionDashboard, *, with_organization: bool = True) -> dict:
    labels = [short_day(d) for d, _o in dashboard.days]
    outcome_series = [
        charts.Series(str(name), f"s-{key.replace('_', '-')}", [getattr(o, key) for _d, o in dashboard.days])
        for key, name in OUTCOME_SERIES
    ]
    totals = dashboard.totals
    plans = [
        (p.plan_name + (f" ({p.organization_name})" if with_organization else "") if p.plan_id
         else _("No plan (product-based, quantity update)"), p.outcomes)
        for p in dashboard.plans
    ]
    sources = [
        (f"{s.utm_source or _('(none)')} / {s.utm_campaign or _('(none)')}"
         if s.utm_source or s.utm_campaign else _("No attribution"), s.outcomes)
        for s in dashboard.sources
    ]
    revenue = [
        {
            "currency": r.currency,
            "total": money(r.total, r.currency),
            "completed": count(r.completed),
            "chart": charts.stacked_columns(
                f"revenue-{r.currency.lower()}", title=_("Revenue booked per day, %(currency)s") % {
                    "currency": r.currency},
                description=_("One column per day; the amounts are in the table beside the chart."),
                labels=labels, series=[charts.Series(_("booked"), "s-revenue", [v for _d, v in r.by_day])],
                tick_label=_compact_money(r.currency),
                value_label=lambda v, currency=r.currency: money(Decimal(str(v)), currency)),
            "rows": [(short_day(d), money(v, r.currency)) for d, v in r.by_day],
        }
        for r in dashboard.revenue
    ]
    return {
        "days_count": DASHBOARD_DAYS,
        "period": _("%(first)s – %(last)s (UTC)") % {"first": day(dashboard.first_day),
                                                     "last": day(dashboard.last_day)},
        "livemode": dashboard.livemode,
        "summary": {"created": count(totals.created), "completed": count(totals.completed),
                    "conversion": rate(totals.conversion)},
        "outcome_legend": [(s.css, s.name) for s in outcome_series],
        "daily_chart": charts.stacked_columns(
            "daily-outcomes", title=_("Sessions per day, by what became of them"),
            description=_("Stacked columns, one per day of creation: completed, expired, cancelled, still "
                          "open. The numbers are in the table beside the chart."),
            labels=labels, series=outcome_series, tick_label=lambda v: f"{v:,.0f}",
            value_label=lambda v: f"{v:,.0f}"),
        "conversion_chart": charts.line(
            "daily-conversion", title=_("Conversion rate per day"),
            description=_("Completed ÷ created, per day of creation; days without sessions are gaps. The "
                          "rates are in the table beside the chart."),
            labels=labels, values=[o.conversion for _d, o in dashboard.days]),
        "daily_rows": [(short_day(d), outcome_cells(o)) for d, o in dashboard.days],
        "daily_totals": outcome_cells(totals),
        "plans": _breakdown("by-plan", _("Sessions per plan"), plans),
        "sources": _breakdown("by-source", _("Sessions per attribution source / campaign"), sources),
        "revenue": revenue,
    }
