"""Apply the retention policy by hand (beat runs it every 10 minutes), or see what it would delete.

    uv run python manage.py retention --dry-run      # counts per table, deletes nothing
    uv run python manage.py retention [--batch-size 1000]

Safe to run while the scheduled run runs: each batch locks its rows with SKIP LOCKED.
"""

import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from checkout.services.retention import (
    CHECKOUT_SESSIONS,
    DEFAULT_BATCH_SIZE,
    EVENTS,
    WEBHOOK_DELIVERIES,
    retention_apply,
    retention_counts,
    retention_cutoffs,
)


class Command(BaseCommand):
    help = "Delete expired idempotency records, webhook deliveries and events (see RETENTION_* settings)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would be deleted; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                            help=f"Rows per transaction (default {DEFAULT_BATCH_SIZE}).")

    def handle(self, *args, dry_run, batch_size, **options):
        now = timezone.now()
        cutoffs = retention_cutoffs(now)
        if dry_run:
            counts = retention_counts(now=now)
            for table, count in counts.items():
                cutoff = None if table == CHECKOUT_SESSIONS else getattr(cutoffs, table)
                if count is None:
                    self.stdout.write(f"{table}: kept (no retention)")
                    continue
                line = f"{table}: {count} would be deleted (created before {cutoff:%Y-%m-%d %H:%M:%S} UTC)"
                if table == EVENTS and counts[WEBHOOK_DELIVERIES]:
                    # Counted as they stand: an event whose last deliveries go in the run goes too.
                    line += ", and those whose deliveries above were their last"
                self.stdout.write(line)
            return
        started = time.monotonic()
        deleted = retention_apply(now=now, batch_size=max(batch_size, 1), time_budget_seconds=None)
        for table, count in deleted.items():
            self.stdout.write(f"{table}: {count} deleted")
        self.stdout.write(f"{CHECKOUT_SESSIONS}: kept (no retention)")
        self.stdout.write(f"in {time.monotonic() - started:.2f} s")
