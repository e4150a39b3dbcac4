"""Test clocks (test mode only, as Stripe's): a customer's test contracts renew on the clock's
time, so a merchant can run a year of renewals, failed charges and retries in a minute.

A clock belongs to one customer; its test-mode contracts (and their invoices) follow it and are
left alone by the real-time beat. Advancing it replays, in time order, everything due in between:
each renewal on its billing date, each charge and retry at its time (at most ``MAX_STEPS``
steps per advance). Live contracts never follow a clock.
"""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from .collection import invoices_collect_due
from .enums import RENEWING_STATUSES, InvoiceStatus, TestClockStatus
from .errors import TestClockBusy, TestClockCustomerLive, TestClockExists, TestClockInvalid, TestClockNotFound
from .models import Contract, Invoice, TestClock
from .renewals import contracts_renew

MAX_ADVANCE = timedelta(days=2 * 366)
MAX_STEPS = 1000


@transaction.atomic
def test_clock_create(*, organization_id, customer_id, frozen_time: datetime | None = None,
                      name: str = "") -> TestClock:
    """A clock for ``customer_id`` (its test-mode contracts, now and later, follow it), set to
    ``frozen_time`` (default: now)."""
    if TestClock.objects.filter(customer_id=customer_id).exists():
        raise TestClockExists(field="customer_id")
    if Contract.objects.filter(customer_id=customer_id, livemode=True).exists():
        raise TestClockCustomerLive(field="customer_id")
    clock = TestClock.objects.create(organization_id=organization_id, customer_id=customer_id, name=name,
                                     frozen_time=frozen_time or timezone.now())
    contracts = Contract.objects.filter(customer_id=customer_id, livemode=False, test_clock__isnull=True)
    Invoice.objects.filter(contract__in=contracts, status=InvoiceStatus.OPEN).update(test_clock=clock)
    contracts.update(test_clock=clock)
    return clock


test_clock_create.__test__ = False


def test_clock_advance(*, organization_id, clock_id, frozen_time: datetime) -> TestClock:
    """Move the clock forward to ``frozen_time`` (at most two years at once), issuing and
    collecting, in order, everything its contracts have due on the way. One advance at a time
    per clock (``test_clock_advancing`` otherwise)."""
    with transaction.atomic():
        clock = TestClock.objects.select_for_update().filter(pk=clock_id, organization_id=organization_id).first()
        if clock is None:
            raise TestClockNotFound()
        if clock.status != TestClockStatus.READY:
            raise TestClockBusy()
        if frozen_time <= clock.frozen_time:
            raise TestClockInvalid("A test clock only moves forward.", field="frozen_time")
        if frozen_time - clock.frozen_time > MAX_ADVANCE:
            raise TestClockInvalid("Advance a test clock by at most two years at a time.", field="frozen_time")
        clock.status = TestClockStatus.ADVANCING
        clock.save(update_fields=["status", "updated_at"])
    try:
        previous = None
        for _step in range(MAX_STEPS):
            moment = _next_due(clock, until=frozen_time)
            if moment is None or moment == previous:
                break  # nothing more due; or what is due cannot move now (another run holds it)
            previous = moment
            TestClock.objects.filter(pk=clock.pk).update(frozen_time=moment, updated_at=timezone.now())
            clock.frozen_time = moment
            contracts_renew(contract_ids=clock.contracts.values_list("id", flat=True),
                            today=timezone.localdate(moment), now=moment)
            invoices_collect_due(now=moment, test_clock_id=clock.pk, inline=True)
        clock.frozen_time = frozen_time
    finally:
        clock.status = TestClockStatus.READY
        TestClock.objects.filter(pk=clock.pk).update(frozen_time=clock.frozen_time, status=clock.status,
                                                     updated_at=timezone.now())
    return clock


test_clock_advance.__test__ = False


def _next_due(clock: TestClock, *, until: datetime) -> datetime | None:
    """The earliest moment, after the clock's time and by ``until``, at which a contract on it
    renews (the start of its billing day) or one of its invoices is charged."""
    day = (Contract.objects.filter(test_clock=clock, status__in=RENEWING_STATUSES, next_billing_date__isnull=False)
           .order_by("next_billing_date").values_list("next_billing_date", flat=True).first())
    attempt = (Invoice.objects.filter(test_clock=clock, status=InvoiceStatus.OPEN, next_payment_attempt__isnull=False)
               .order_by("next_payment_attempt").values_list("next_payment_attempt", flat=True).first())
    moments = [m for m in (_start_of(day) if day else None, attempt) if m is not None]
    if not moments:
        return None
    moment = max(min(moments), clock.frozen_time)
    return moment if moment <= until else None


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
