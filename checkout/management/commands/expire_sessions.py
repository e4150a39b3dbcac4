"""Run the expiry sweep by hand (the beat schedule runs it every minute).

    uv run python manage.py expire_sessions [--batch-size 5000]

Safe to run while the scheduled sweep runs: the two skip each other's rows.
"""

import time

from django.core.management.base import BaseCommand

from checkout.sessions.expiry import DEFAULT_BATCH_SIZE, checkout_sessions_expire_due


class Command(BaseCommand):
    help = "Expire every open checkout session past its expires_at (and record their events)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                            help=f"Sessions per transaction (default {DEFAULT_BATCH_SIZE}).")

    def handle(self, *args, batch_size, **options):
        started = time.monotonic()
        expired = checkout_sessions_expire_due(batch_size=max(batch_size, 1))
        elapsed = time.monotonic() - started
        rate = f" ({expired / elapsed:,.0f}/s)" if expired and elapsed > 0 else ""
        self.stdout.write(f"Expired {expired} checkout session(s) in {elapsed:.2f} s{rate}.")
