"""The ops dashboard's reads (issue #29): "why did people not pay?".

For the sessions created in a date range (one mode, all organizations or one), and for the
same number of days just before it (the comparison):
- the funnel: created → page opened → payment attempted → completed, in total, per day of
  creation, per plan and per attribution source (utm_source / utm_campaign);
- why the others did not pay: card declines by decline code, 3-D Secure abandoned, sessions
  that expired after the customer opened the page and those that expired unopened, cancelled;
- trial conversion (sessions offering a free trial, and how many completed) and MRR booked.

Definitions (the README's "Ops staff" section repeats them):
- *page opened*: the hosted page was opened at least once (``PageView``, checkout.activity);
- *payment attempted*: at least one card payment was tried (a ``Payment`` row, whatever its
  outcome), or the customer confirmed without a card (invoice, nothing to pay), i.e. the session
  is completed or processing;
- *completed*: status completed;
- *expired*: expired, or open past ``expires_at`` (expired the moment anyone reads it);
- *MRR booked*: for completed new-contract sessions, the recurring lines of the next invoice
  (the first full period after the checkout), each divided by its cadence in months, before tax
  and discounts; added up per currency, then rounded half up to its minor unit;
- *revenue booked*: completed sessions' ``amount_total`` (their first invoices' totals).

Four reads per period, in one transaction: the sessions' counts (one GROUP BY over the range,
``EXISTS`` probes for page views and payments), their failed payments by code, the completed
sessions' next invoices (for MRR) and the trial offers; plus one for plan names. Unlike the
counts-only conversion dashboard before it, these read the session rows of the range, not just
the ``session_dashboard`` index: 6 s with 160k sessions in a 30-day range on the shared 2-core
machine (README "Figures"); reporting columns for MRR and trials, written with ``amount_total``,
would bring it back to index-only scans.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.enums import PaymentAttemptStatus
from billing.models import Payment, Plan
from billing.pricing import cadence_months
from checkout.enums import CheckoutType, SessionStatus
from checkout.models import CheckoutSession, PageView
from core.errors import DomainError
from core.money import quantize

DEFAULT_DAYS = 30
MAX_DAYS = 366
THREE_D_SECURE_ABANDONED = "authentication_abandoned"
STEPS = ("created", "opened", "attempted", "completed")


@dataclass(frozen=True)
class Funnel:
    created: int = 0
    opened: int = 0
    attempted: int = 0
    completed: int = 0
    expired: int = 0
    expired_opened: int = 0
    cancelled: int = 0

    def __add__(self, other: "Funnel") -> "Funnel":
        return Funnel(*(getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__))

    @property
    def expired_unopened(self) -> int:
        return self.expired - self.expired_opened

    @property
    def conversion(self) -> Decimal | None:
        return Decimal(self.completed) / Decimal(self.created) if self.created else None

    def step_rate(self, step: str) -> Decimal | None:
        """The share of the previous step that reached ``step`` (None for the first step or
        when the previous step is empty)."""
        index = STEPS.index(step)
        if index == 0:
            return None
        before = getattr(self, STEPS[index - 1])
        return Decimal(getattr(self, step)) / Decimal(before) if before else None


@dataclass(frozen=True)
class Failures:
    declines: tuple[tuple[str, int, int], ...] = ()  # (decline code, attempts, sessions)
    authentication_abandoned: int = 0  # sessions whose 3-D Secure was abandoned at least once
    expired_opened: int = 0
    expired_unopened: int = 0
    cancelled: int = 0

    @property
    def declined_sessions(self) -> int:
        return sum(sessions for _code, _attempts, sessions in self.declines)


@dataclass(frozen=True)
class Period:
    first_day: datetime.date
    last_day: datetime.date
    funnel: Funnel
    failures: Failures
    trials_created: int
    trials_completed: int
    mrr: dict[str, Decimal]
    revenue: dict[str, Decimal]

    @property
    def trial_conversion(self) -> Decimal | None:
        return Decimal(self.trials_completed) / Decimal(self.trials_created) if self.trials_created else None


@dataclass(frozen=True)
class OpsDashboard:
    livemode: bool
    current: Period
    previous: Period
    days: tuple[tuple[datetime.date, Funnel], ...]
    plans: tuple[tuple[str, Funnel], ...] = field(default=())
    sources: tuple[tuple[str, Funnel], ...] = field(default=())


def dashboard_range(start: datetime.date | None, end: datetime.date | None,
                    today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The inclusive UTC days to show: the last ``DEFAULT_DAYS`` by default. Refused (422
    ``invalid_date_range``) when the end is before the start or the range is over MAX_DAYS."""
    end = end or today
    start = start or end - datetime.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise DomainError("The end date is before the start date.", code="invalid_date_range", field="end")
    if (end - start).days + 1 > MAX_DAYS:
        raise DomainError(f"Choose at most {MAX_DAYS} days.", code="invalid_date_range", field="start")
    return start, end


def dashboard_default_livemode(*, organization_id=None, since: datetime.datetime) -> bool:
    """Live mode if it has sessions since ``since``, else test mode (a demo or a merchant still
    integrating has only test data: the dashboard opens on something rather than zeros).
    One index probe of ``session_dashboard``."""
    live = CheckoutSession.objects.filter(livemode=True, created_at__gte=since)
    if organization_id is not None:
        live = live.filter(organization_id=organization_id)
    return live.exists()


def _bounds(first_day: datetime.date, last_day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(first_day, datetime.time.min, tzinfo=datetime.UTC)
    return start, start + datetime.timedelta(days=(last_day - first_day).days + 1)


def _sessions(livemode: bool, organization_id, first_day, last_day):
    start, end = _bounds(first_day, last_day)
    sessions = CheckoutSession.objects.filter(livemode=livemode, created_at__gte=start, created_at__lt=end)
    if organization_id is not None:
        sessions = sessions.filter(organization_id=organization_id)
    return sessions.order_by()


def _counts(now: datetime.datetime) -> dict:
    opened = Exists(PageView.objects.filter(checkout_session_id=OuterRef("pk")))
    paid_attempt = Exists(Payment.objects.filter(checkout_session_id=OuterRef("pk")))
    expired = Q(status=SessionStatus.EXPIRED) | Q(status=SessionStatus.OPEN, expires_at__lte=now)
    return {
        "created": Count("pk"),
        "opened": Count("pk", filter=Q(opened)),
        "attempted": Count("pk", filter=Q(paid_attempt) | Q(status__in=[SessionStatus.COMPLETED,
                                                                           SessionStatus.PROCESSING])),
        "completed": Count("pk", filter=Q(status=SessionStatus.COMPLETED)),
        "expired": Count("pk", filter=expired),
        "expired_opened": Count("pk", filter=expired & Q(opened)),
        "cancelled": Count("pk", filter=Q(status=SessionStatus.CANCELLED)),
        "booked": Sum("amount_total", filter=Q(status=SessionStatus.COMPLETED)),
    }


def _trials(sessions) -> dict:
    """Apart from the grouped counts: it reads each row's ``quote`` (wide), which would make
    the grouping sort carry it."""
    trial = Q(quote__has_key="trial_end")
    return sessions.aggregate(created=Count("pk", filter=trial),
                              completed=Count("pk", filter=trial & Q(status=SessionStatus.COMPLETED)))


FUNNEL_FIELDS = tuple(Funnel.__dataclass_fields__)


def _funnel(row: dict) -> Funnel:
    return Funnel(*(row[name] for name in FUNNEL_FIELDS))


def recurring_lines(estimates: dict | None):
    """(currency, cadence, amount) of each recurring line of a session's next invoice (the first
    full period after checkout); discounts and one-time lines left out."""
    invoice = (estimates or {}).get("next_invoice") or {}
    for line in invoice.get("line_items") or ():
        if line.get("cadence") and line.get("kind") != "discount" and invoice.get("currency"):
            yield invoice["currency"], line["cadence"], Decimal(line["amount"])


def monthly_recurring(sums) -> dict[str, Decimal]:
    """MRR per currency from (currency, cadence, amount) sums: each amount divided by its cadence
    in months, added up, rounded half up to the currency's minor unit."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for currency, cadence, amount in sums:
        totals[currency] += Decimal(amount) / cadence_months(cadence)
    return {currency: quantize(total, currency) for currency, total in sorted(totals.items())}


def _recurring_sums(completed) -> list[tuple[str, str, Decimal]]:
    """The recurring lines of the completed sessions' next invoices, summed per currency and
    cadence. Only ``estimates -> next_invoice`` travels and is decoded (a third of the JSON)."""
    sums: dict = defaultdict(Decimal)
    rows = completed.annotate(next_invoice=KeyTransform("next_invoice", "estimates")).values_list(
        "next_invoice", flat=True)
    for invoice in rows.iterator(chunk_size=2000):
        for currency, cadence, amount in recurring_lines({"next_invoice": invoice}):
            sums[(currency, cadence)] += amount
    return [(currency, cadence, amount) for (currency, cadence), amount in sums.items()]


def _period(livemode, organization_id, first_day, last_day, now, *, breakdowns: bool):
    sessions = _sessions(livemode, organization_id, first_day, last_day)
    keys = ("day", "plan_id", "utm_source", "utm_campaign", "currency") if breakdowns else ("currency",)
    grouped = sessions
    if breakdowns:
        grouped = grouped.annotate(day=TruncDate("created_at", tzinfo=datetime.UTC))
    rows = list(grouped.values(*keys).annotate(**_counts(now)))

    total = sum((_funnel(row) for row in rows), Funnel())
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["booked"]:
            revenue[row["currency"]] += row["booked"]

    failed = (Payment.objects.filter(checkout_session__in=sessions.values("pk"), status=PaymentAttemptStatus.FAILED)
              .values("failure_code").annotate(attempts=Count("pk"), sessions=Count("checkout_session", distinct=True)))
    declines, abandoned = [], 0
    for row in failed:
        code = row["failure_code"] or "unknown"
        if code == THREE_D_SECURE_ABANDONED:
            abandoned = row["sessions"]
        else:
            declines.append((code, row["attempts"], row["sessions"]))
    declines.sort(key=lambda d: (-d[2], d[0]))

    completed = sessions.filter(status=SessionStatus.COMPLETED, checkout_type=CheckoutType.NEW_CONTRACT)
    mrr = monthly_recurring(_recurring_sums(completed))
    trials = _trials(sessions)

    period = Period(
        first_day=first_day, last_day=last_day, funnel=total,
        failures=Failures(declines=tuple(declines), authentication_abandoned=abandoned,
                          expired_opened=total.expired_opened, expired_unopened=total.expired_unopened,
                          cancelled=total.cancelled),
        trials_created=trials["created"], trials_completed=trials["completed"],
        mrr=mrr, revenue=dict(sorted(revenue.items())))
    return period, rows


def ops_dashboard_get(*, livemode: bool, organization_id=None, first_day: datetime.date, last_day: datetime.date,
                      now: datetime.datetime | None = None) -> OpsDashboard:
    now = now or timezone.now()
    length = datetime.timedelta(days=(last_day - first_day).days + 1)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The EXISTS probes make the planner's cost estimate huge, so PostgreSQL would
            # JIT-compile the query: 2 s of compiling for a 1 s query (measured, 160k sessions).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        current, rows = _period(livemode, organization_id, first_day, last_day, now, breakdowns=True)
        previous, _rows = _period(livemode, organization_id, first_day - length,
                                  first_day - datetime.timedelta(days=1), now, breakdowns=False)

    per_day: dict[datetime.date, Funnel] = defaultdict(Funnel)
    per_plan: dict = defaultdict(Funnel)
    per_source: dict = defaultdict(Funnel)
    for row in rows:
        funnel = _funnel(row)
        per_day[row["day"]] += funnel
        per_plan[row["plan_id"]] += funnel
        per_source[(row["utm_source"], row["utm_campaign"])] += funnel
    names = dict(Plan.objects.filter(pk__in=[p for p in per_plan if p]).values_list("id", "name"))
    plans = sorted(((names.get(plan_id, "(deleted plan)") if plan_id else "No plan (product-based or quantity "
                     "update)", funnel) for plan_id, funnel in per_plan.items()),
                   key=lambda item: (-item[1].created, item[0]))
    sources = sorted((((f"{source or '(none)'} / {campaign or '(none)'}" if source or campaign
                        else "No attribution"), funnel) for (source, campaign), funnel in per_source.items()),
                     key=lambda item: (-item[1].created, item[0]))
    calendar = [first_day + datetime.timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    return OpsDashboard(livemode=livemode, current=current, previous=previous,
                        days=tuple((day, per_day.get(day, Funnel())) for day in calendar),
                        plans=tuple(plans), sources=tuple(sources))
