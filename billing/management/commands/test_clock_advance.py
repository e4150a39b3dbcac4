"""Advance a test clock (test mode only): its customer's contracts renew, and their invoices are
charged and retried, as if that time had passed.

    .venv/bin/python manage.py test_clock_advance --months 1            # the demo customer's clock
    .venv/bin/python manage.py test_clock_advance --customer ada@example.com --days 45
    .venv/bin/python manage.py test_clock_advance --clock <id> --to 2027-06-01T00:00:00Z

Prints every invoice issued on the way and how it was paid.
"""

from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing.models import Invoice, TestClock
from billing.pricing import add_months
from billing.test_clocks import test_clock_advance
from core.errors import DomainError


class Command(BaseCommand):
    help = "Advance a test clock: the customer's test contracts renew and are charged on the way."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--clock", help="The clock's id (default: the only clock, e.g. the demo's).")
        which.add_argument("--customer", help="The customer's id or e-mail address.")
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument("--months", type=int, help="Move the clock this many months on.")
        when.add_argument("--days", type=int, help="Move the clock this many days on.")
        when.add_argument("--to", help="Move the clock to this ISO-8601 time.")

    def handle(self, *args, **options):
        clock = self._clock(options)
        target = self._target(clock.frozen_time, options)
        since = timezone.now()
        try:
            clock = test_clock_advance(organization_id=clock.organization_id, clock_id=clock.pk, frozen_time=target)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Test clock {clock.pk} is now {clock.frozen_time.isoformat()}.")
        invoices = (Invoice.objects.filter(test_clock=clock, created_at__gte=since)
                    | Invoice.objects.filter(contract__test_clock=clock, updated_at__gte=since))
        for invoice in invoices.distinct().order_by("invoice_date").prefetch_related("payments"):
            paid = [f"{p.status} ({p.card_last4 and '•••• ' + p.card_last4 or p.failure_code})"
                    for p in invoice.payments.order_by("created_at")]
            self.stdout.write(f"  invoice {invoice.number or invoice.pk} of {invoice.invoice_date}: {invoice.total:.2f} "
                              f"{invoice.currency}, {invoice.status}; charges: {', '.join(paid) or 'none'}")

    @staticmethod
    def _clock(options) -> TestClock:
        clocks = TestClock.objects.all()
        if options["clock"]:
            clocks = clocks.filter(pk=options["clock"])
        elif options["customer"]:
            key = options["customer"]
            clocks = clocks.filter(customer__email__iexact=key) if "@" in key else clocks.filter(customer_id=key)
        found = list(clocks[:2])
        if len(found) != 1:
            raise CommandError("Name one test clock (--clock or --customer)." if found else "No such test clock.")
        return found[0]

    @staticmethod
    def _target(now: datetime, options) -> datetime:
        if options["months"] is not None:
            day = add_months(now.date(), options["months"])
            return now + timedelta(days=(day - now.date()).days)
        if options["days"] is not None:
            return now + timedelta(days=options["days"])
        moment = parse_datetime(options["to"])
        if moment is None:
            raise CommandError("--to takes an ISO-8601 time, e.g. 2027-06-01T00:00:00Z.")
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
