"""Reads of checkout sessions. Reads only: nothing here writes. A due session (open, past
``expires_at``) comes back as the row says; views that show it first hand what they read to
``checkout.sessions.expiry.checkout_sessions_expire_if_due`` (read-time expiry), and status
filters already count it as expired.

The lists (sessions, events) are keyset-paginated, newest first (``core.pagination``): the
cursor is the last row's ``(created_at, id)``, opaque to callers (base64 JSON), so pages stay
stable while new rows are created, and each page is one index range scan
(``session_org_created`` / ``session_org_status``, ``event_list``).
"""

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.enums import PaymentAttemptStatus, SavedPaymentMethodStatus
from billing.models import Payment, PaymentSettings, Phase, Plan, Product, SavedPaymentMethod
from checkout.enums import DeliveryStatus, SessionStatus
from checkout.errors import (
    EventNotFound,
    HostedInvoiceNotFound,
    SessionNotFound,
)
from checkout.models import EVENT_PAYLOAD_PENDING, CheckoutSession, Event, HostedInvoice, WebhookDelivery
from checkout.tokens import invoice_token_well_formed, session_token_well_formed
from core.db import JoinedRowLoader
from core.pagination import Page, created_range, keyset_page

_BY_ID = JoinedRowLoader(CheckoutSession, by=("id", "organization"))


def checkout_session_get(*, organization_id, session_id, livemode: bool | None = None) -> CheckoutSession:
    """The organization's session. Another tenant's id is not found, nor (with ``livemode``, a
    merchant key's mode) a session of the other mode."""
    session = _BY_ID.get(session_id, organization_id)
    if session is None or (livemode is not None and session.livemode != livemode):
        raise SessionNotFound()
    return session


_BY_TOKEN = JoinedRowLoader(CheckoutSession, ("business_entity", "customer", "plan"), by=("token",))


def checkout_session_get_by_token(*, token: str) -> CheckoutSession:
    """The session behind a hosted-page token (with its entity, customer and plan). One fixed
    statement: compiling the ORM query cost more than running it."""
    session = _BY_TOKEN.get(token) if session_token_well_formed(token) else None
    if session is None:
        raise SessionNotFound()
    return session


def checkout_session_amendment_in_flight(*, organization_id, contract_id, exclude_id=None) -> bool:
    """Whether an amendment of the contract has a payment in flight (a ``processing``
    session). Reads through ``session_org_status``: only the organization's processing
    sessions, a handful, are looked at."""
    sessions = CheckoutSession.objects.filter(
        organization_id=organization_id, status=SessionStatus.PROCESSING, contract_id=contract_id
    )
    if exclude_id is not None:
        sessions = sessions.exclude(pk=exclude_id)
    return sessions.exists()


def phase_plan_name(*, phase_id) -> str:
    """The name of a contract phase's plan ("" for none): what a plan switch leaves."""
    return Phase.objects.filter(pk=phase_id).values_list("plan__name", flat=True).first() or ""


def product_names(*, organization_id, product_ids) -> dict[str, str]:
    """Product id → name, for lines a session's quote does not carry (an add-on left out)."""
    if not product_ids:
        return {}
    rows = Product.objects.filter(organization_id=organization_id, pk__in=list(product_ids)).values_list("id", "name")
    return {str(pk): name for pk, name in rows}


# How far a recovery chain is followed (a recovered session that expired and was recovered in
# turn): far beyond what a customer does, small enough to stay a few indexed lookups.
RECOVERY_CHAIN_LIMIT = 10


def checkout_session_recovery_bought(*, session_id) -> CheckoutSession | None:
    """The session that already bought what expired session ``session_id`` offered: the newest
    session recovered from it (or from one recovered from it, and so on) that completed or is
    settling its payment. A recovery link must not sell the same thing twice."""
    level = [session_id]
    for _depth in range(RECOVERY_CHAIN_LIMIT):
        children = list(CheckoutSession.objects.filter(recovered_from_id__in=level)
                        .only("id", "status", "created_at").order_by("-created_at"))
        bought = [child for child in children if child.status in (SessionStatus.COMPLETED, SessionStatus.PROCESSING)]
        if bought:
            return CheckoutSession.objects.get(pk=bought[0].pk)
        level = [child.pk for child in children]
        if not level:
            return None
    return None


def payment_settings_get(*, organization_id, livemode: bool):
    """The organization's payment settings for a mode, or None (defaults apply)."""
    return PaymentSettings.objects.filter(organization_id=organization_id, livemode=livemode).first()


def checkout_session_payment_latest(session: CheckoutSession, status: str) -> Payment | None:
    """The session's most recent payment attempt in ``status`` (the page's pending or
    succeeded payment, the decline it explains)."""
    return session.payments.filter(status=status).order_by("-created_at").first()


def _due(now: datetime.datetime) -> Q:
    """Open sessions past ``expires_at``: expired as soon as anyone reads them."""
    return Q(status=SessionStatus.OPEN, expires_at__lte=now)


def _expired_as_read(now: datetime.datetime) -> Q:
    """What a reader sees as expired: expired sessions and the due open ones."""
    return Q(status=SessionStatus.EXPIRED) | _due(now)


def checkout_session_list(
    *,
    organization_id,
    livemode: bool,
    status: str | None = None,
    customer_id=None,
    checkout_type: str | None = None,
    created_gte=None,
    created_gt=None,
    created_lte=None,
    created_lt=None,
    limit: int = 20,
    cursor: str | None = None,
    starting_after=None,
    ending_before=None,
) -> Page:
    """One page of the organization's sessions of one mode (``core.pagination``: a cursor, or
    ``starting_after`` / ``ending_before`` a session id). Status filters see read-time
    expiry: an open session past ``expires_at`` is listed under ``expired``, not ``open``."""
    now = timezone.now()
    scope = CheckoutSession.objects.filter(organization_id=organization_id, livemode=livemode)
    qs = scope
    if status == SessionStatus.OPEN:
        qs = qs.filter(status=SessionStatus.OPEN, expires_at__gt=now)
    elif status == SessionStatus.EXPIRED:
        qs = qs.filter(_expired_as_read(now))
    elif status:
        qs = qs.filter(status=status)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if checkout_type:
        qs = qs.filter(checkout_type=checkout_type)
    qs = created_range(qs, gte=created_gte, gt=created_gt, lte=created_lte, lt=created_lt)
    return keyset_page(qs, scope=scope, limit=limit, cursor=cursor, starting_after=starting_after,
                       ending_before=ending_before)


EXPANDABLE = ("customer", "contract", "invoice")


def checkout_session_expansions(sessions, expand) -> dict:
    """``expand[]`` on a session read: for each session id, the objects a completed session
    leads to, ``{"customer": {…} | None, "contract": …, "invoice": …}`` (only those asked for),
    each as the API shows it. One query per kind for the whole page, scoped to the sessions'
    organization."""
    from billing.models import Contract, Invoice
    from billing.representation import contract_json, invoice_json
    from customers.models import Customer
    from customers.representation import customer_json

    expand = set(expand or ())
    if not sessions or not expand:
        return {}
    organization_id = sessions[0].organization_id
    found: dict[str, dict] = {}
    if "customer" in expand:
        ids = {session.customer_id for session in sessions if session.customer_id}
        found["customer"] = {row.pk: customer_json(row) for row in
                             Customer.objects.filter(organization_id=organization_id, pk__in=ids)}
    if "contract" in expand:
        ids = {session.contract_id for session in sessions if session.contract_id}
        found["contract"] = {row.pk: contract_json(row) for row in
                             Contract.objects.filter(organization_id=organization_id, pk__in=ids)}
    if "invoice" in expand:
        invoices = (Invoice.objects.filter(organization_id=organization_id,
                                           checkout_session_id__in=[session.pk for session in sessions])
                    .prefetch_related("lines"))
        found["invoice"] = {row.checkout_session_id: invoice_json(row) for row in invoices}
    keys = {"customer": "customer_id", "contract": "contract_id", "invoice": "pk"}
    return {
        session.pk: {kind: by_id.get(getattr(session, keys[kind])) for kind, by_id in found.items()}
        for session in sessions
    }


def event_list(
    *,
    organization_id,
    livemode: bool,
    type: str | None = None,
    checkout_session_id=None,
    object_id=None,
    created_gte=None,
    created_gt=None,
    created_lte=None,
    created_lt=None,
    limit: int = 20,
    cursor: str | None = None,
    starting_after=None,
    ending_before=None,
) -> Page:
    """One page of the organization's events of one mode, newest first (the ``event_list``
    index). ``object_id`` matches the object an event is about, a session or a billing object.
    Events the expiry sweep wrote in bulk are listed once their payload is complete (moments
    later, by the outbox pass), so a listed event is always the object delivered."""
    scope = Event.objects.filter(organization_id=organization_id, livemode=livemode)
    qs = scope.exclude(payload=EVENT_PAYLOAD_PENDING)
    if type:
        qs = qs.filter(type=type)
    if checkout_session_id is not None:
        qs = qs.filter(checkout_session_id=checkout_session_id)
    if object_id is not None:
        qs = qs.filter(Q(checkout_session_id=object_id) | Q(checkout_session__isnull=True, object_id=object_id))
    qs = created_range(qs, gte=created_gte, gt=created_gt, lte=created_lte, lt=created_lt)
    return keyset_page(qs, scope=scope, limit=limit, cursor=cursor, starting_after=starting_after,
                       ending_before=ending_before)


def event_get(*, organization_id, livemode: bool, event_id) -> Event:
    event = (Event.objects.filter(organization_id=organization_id, livemode=livemode, pk=event_id)
             .exclude(payload=EVENT_PAYLOAD_PENDING).first())
    if event is None:
        raise EventNotFound(field="event_id")
    return event


# --- the conversion dashboard (admin) -----------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    """What the sessions created in a period (or of a plan, a source) became. ``expired``
    includes open sessions already past ``expires_at`` (expired the moment they are read,
    swept or not); ``still_open`` are open or processing."""

    created: int = 0
    completed: int = 0
    expired: int = 0
    cancelled: int = 0

    @property
    def still_open(self) -> int:
        return self.created - self.completed - self.expired - self.cancelled

    @property
    def conversion(self) -> Decimal | None:
        """Completed ÷ created (None with nothing created)."""
        return Decimal(self.completed) / Decimal(self.created) if self.created else None

    def __add__(self, other: "Outcomes") -> "Outcomes":
        return Outcomes(self.created + other.created, self.completed + other.completed,
                        self.expired + other.expired, self.cancelled + other.cancelled)


@dataclass(frozen=True)
class PlanOutcomes:
    plan_id: uuid.UUID | None  # None: product-based contracts and quantity updates
    plan_name: str
    organization_name: str
    outcomes: Outcomes


@dataclass(frozen=True)
class SourceOutcomes:
    utm_source: str | None
    utm_campaign: str | None
    outcomes: Outcomes


@dataclass(frozen=True)
class CurrencyRevenue:
    """The completed sessions' ``amount_total`` (their first invoices' totals), per creation day."""

    currency: str
    total: Decimal
    completed: int
    by_day: tuple[tuple[datetime.date, Decimal], ...]


@dataclass(frozen=True)
class ConversionDashboard:
    livemode: bool
    first_day: datetime.date
    last_day: datetime.date
    days: tuple[tuple[datetime.date, Outcomes], ...]
    plans: tuple[PlanOutcomes, ...]
    sources: tuple[SourceOutcomes, ...]
    revenue: tuple[CurrencyRevenue, ...]

    @property
    def totals(self) -> Outcomes:
        return sum((outcomes for _day, outcomes in self.days), Outcomes())


DASHBOARD_DAYS = 30


def _dashboard_window(now: datetime.datetime, days: int) -> tuple[datetime.date, datetime.date]:
    """The first and last UTC days of the ``days`` days ending today (today included)."""
    last_day = now.astimezone(datetime.UTC).date()
    return last_day - datetime.timedelta(days=days - 1), last_day


def _outcome_counts(now: datetime.datetime) -> dict:
    """Aggregates over the index's columns only (``status`` is never null), so each query is
    an index-only scan of ``session_dashboard``."""
    return {
        "created": Count("status"),
        "completed": Count("status", filter=Q(status=SessionStatus.COMPLETED)),
        "expired": Count("status", filter=_expired_as_read(now)),
        "cancelled": Count("status", filter=Q(status=SessionStatus.CANCELLED)),
    }


def conversion_dashboard_querysets(*, livemode: bool, organization_id=None, days: int = DASHBOARD_DAYS,
                                   now: datetime.datetime | None = None) -> dict[str, QuerySet]:
    """The dashboard's three aggregate queries (by creation day and currency, by plan, by
    attribution source and campaign), each one index-only range scan of ``session_dashboard``
    (``bench/bench_dashboard.py`` prints their plans)."""
    now = now or timezone.now()
    first_day, _last_day = _dashboard_window(now, days)
    since = datetime.datetime.combine(first_day, datetime.time.min, tzinfo=datetime.UTC)
    sessions = CheckoutSession.objects.filter(livemode=livemode, created_at__gte=since, created_at__lte=now)
    if organization_id is not None:
        sessions = sessions.filter(organization_id=organization_id)
    sessions = sessions.order_by()
    counts = _outcome_counts(now)
    return {
        "days": sessions.values("currency", day=TruncDate("created_at", tzinfo=datetime.UTC))
        .annotate(**counts, booked=Sum("amount_total", filter=Q(status=SessionStatus.COMPLETED))),
        "plans": sessions.values("plan_id").annotate(**counts),
        "sources": sessions.values("utm_source", "utm_campaign").annotate(**counts),
    }


def conversion_dashboard_get(*, livemode: bool, organization_id=None, days: int = DASHBOARD_DAYS,
                             now: datetime.datetime | None = None) -> ConversionDashboard:
    """Sessions created in the last ``days`` UTC days (today included) in one mode (and one
    organization, if given): per day, per plan and per attribution source, what they became,
    and the revenue they booked per currency. Four queries: the three aggregates and the
    plans' names."""
    now = now or timezone.now()
    first_day, last_day = _dashboard_window(now, days)
    querysets = conversion_dashboard_querysets(livemode=livemode, organization_id=organization_id, days=days,
                                               now=now)

    def outcomes(row) -> Outcomes:
        return Outcomes(row["created"], row["completed"], row["expired"], row["cancelled"])

    per_day: dict[datetime.date, Outcomes] = {}
    booked: dict[str, dict[datetime.date, Decimal]] = {}
    completed_in: dict[str, int] = {}
    for row in querysets["days"]:
        per_day[row["day"]] = per_day.get(row["day"], Outcomes()) + outcomes(row)
        if row["completed"]:
            currency = row["currency"]
            booked.setdefault(currency, {})[row["day"]] = row["booked"] or Decimal(0)
            completed_in[currency] = completed_in.get(currency, 0) + row["completed"]
    calendar = [first_day + datetime.timedelta(days=i) for i in range(days)]

    plan_rows = list(querysets["plans"])
    names = {
        plan_id: (name, organization_name)
        for plan_id, name, organization_name in Plan.objects.filter(
            pk__in=[row["plan_id"] for row in plan_rows if row["plan_id"]]
        ).values_list("id", "name", "organization__name")
    }
    plans = sorted(
        (PlanOutcomes(row["plan_id"], *names.get(row["plan_id"], ("", "")), outcomes(row)) for row in plan_rows),
        key=lambda p: (-p.outcomes.created, p.plan_id is None, p.plan_name),
    )
    sources = sorted(
        (SourceOutcomes(row["utm_source"], row["utm_campaign"], outcomes(row)) for row in querysets["sources"]),
        key=lambda s: (-s.outcomes.created, s.utm_source is None, s.utm_source or "", s.utm_campaign or ""),
    )
    revenue = tuple(
        CurrencyRevenue(
            currency=currency,
            total=sum(by_day.values(), Decimal(0)),
            completed=completed_in[currency],
            by_day=tuple((day, by_day.get(day, Decimal(0))) for day in calendar),
        )
        for currency, by_day in sorted(booked.items())
    )
    return ConversionDashboard(
        livemode=livemode,
        first_day=first_day,
        last_day=last_day,
        days=tuple((day, per_day.get(day, Outcomes())) for day in calendar),
        plans=tuple(plans),
        sources=tuple(sources),
        revenue=revenue,
    )


# --- metrics (read at every Prometheus scrape: each an indexed query) ---------------------


METRICS_WINDOW = datetime.timedelta(hours=24)


@dataclass(frozen=True)
class CheckoutMetrics:
    # (livemode, status) → sessions created in the last 24 hours, by what they are now (an open
    # session past expires_at counts as expired, as on any read)
    sessions_recent: dict[tuple[bool, str], int]
    sweep_lag_seconds: float  # how long the oldest due open session has waited for the sweep
    deliveries_recent: dict[str, int]  # status → webhook deliveries created in the last 24 hours
    deliveries_pending: int
    oldest_pending_delivery_age_seconds: float


def checkout_metrics_get(*, now: datetime.datetime | None = None) -> CheckoutMetrics:
    """Four queries, none reading more than the last day's index entries or the (partial)
    indexes of what is waiting: session_dashboard, session_open_expires_at, delivery_created,
    delivery_pending_created."""
    now = now or timezone.now()
    since = now - METRICS_WINDOW
    due = _due(now)
    sessions = {(livemode, status): 0 for livemode in (False, True) for status in SessionStatus.values}
    rows = (CheckoutSession.objects.filter(livemode__in=[False, True], created_at__gte=since).order_by()
            .values("livemode", "status")
            .annotate(n=Count("status", filter=~due), due=Count("status", filter=due)))
    for row in rows:
        sessions[(row["livemode"], row["status"])] += row["n"]
        sessions[(row["livemode"], SessionStatus.EXPIRED)] += row["due"]
    oldest_due = (CheckoutSession.objects.filter(due).order_by()
                  .aggregate(oldest=Min("expires_at"))["oldest"])
    deliveries = {status: 0 for status in DeliveryStatus.values}
    for row in (WebhookDelivery.objects.filter(created_at__gte=since).order_by().values("status")
                .annotate(n=Count("status"))):
        deliveries[row["status"]] = row["n"]
    pending = (WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by()
               .aggregate(n=Count("created_at"), oldest=Min("created_at")))
    return CheckoutMetrics(
        sessions_recent=sessions,
        sweep_lag_seconds=max((now - oldest_due).total_seconds(), 0.0) if oldest_due else 0.0,
        deliveries_recent=deliveries,
        deliveries_pending=pending["n"],
        oldest_pending_delivery_age_seconds=(
            max((now - pending["oldest"]).total_seconds(), 0.0) if pending["oldest"] else 0.0),
    )


# --- the hosted invoice page ----------------------------------------------------------------


@dataclass(frozen=True)
class InvoicePageData:
    """What the hosted invoice page shows: the invoice (with its lines, contract, merchant and
    customer), the card a payment now would use, the last off-session failure, the attempt in
    flight, and the checkout's page locale."""

    page: object  # HostedInvoice
    invoice: object  # billing Invoice
    method: object | None  # SavedPaymentMethod
    last_failure: Payment | None
    pending: Payment | None
    paid_with: Payment | None
    locale: str
    # The customer's latest attempt on this page, when it failed within the last hour.
    page_failure: Payment | None = None


# How long the invoice page names why the customer's own last attempt there failed.
PAGE_FAILURE_SHOWN_FOR = datetime.timedelta(hours=1)


def hosted_invoice_get_by_token(*, token: str) -> InvoicePageData:
    """The hosted invoice page behind ``token``; ``HostedInvoiceNotFound`` for anything else."""
    page = (HostedInvoice.objects.select_related("invoice__contract__business_entity", "invoice__customer",
                                                 "invoice__contract__default_payment_method")
            .filter(token=token).first() if invoice_token_well_formed(token) else None)
    if page is None:
        raise HostedInvoiceNotFound()
    invoice = page.invoice
    contract = invoice.contract
    method = contract.default_payment_method
    if method is None or method.status != SavedPaymentMethodStatus.ACTIVE or method.livemode != invoice.livemode:
        method = (SavedPaymentMethod.objects.filter(customer_id=invoice.customer_id, livemode=invoice.livemode,
                                                    status=SavedPaymentMethodStatus.ACTIVE,
                                                    default_since__isnull=False)
                  .order_by("-default_since").first())
    payments = list(Payment.objects.filter(invoice=invoice).order_by("-created_at")[:20])
    on_page = next((p for p in payments if not p.off_session), None)
    locale = (CheckoutSession.objects.filter(contract_id=contract.pk, status=SessionStatus.COMPLETED)
              .order_by("-completed_at").values_list("locale", flat=True).first()) or ""
    return InvoicePageData(
        page=page, invoice=invoice, method=method,
        last_failure=next((p for p in payments if p.off_session and p.status == PaymentAttemptStatus.FAILED), None),
        pending=next((p for p in payments if p.status == PaymentAttemptStatus.PENDING), None),
        paid_with=next((p for p in payments if p.status == PaymentAttemptStatus.SUCCEEDED), None),
        locale=locale,
        page_failure=(on_page if on_page is not None and on_page.status == PaymentAttemptStatus.FAILED
                      and on_page.updated_at > timezone.now() - PAGE_FAILURE_SHOWN_FOR else None),
    )
