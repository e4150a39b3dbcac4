"""Deliver webhooks from this process: for the embedded default without a worker.

    uv run python manage.py send_webhooks

Dispatches every undispatched event and makes one attempt at every due delivery. With
a worker and beat running (REDIS_URL set) there is no need for it.
"""

from django.core.management.base import BaseCommand

from checkout.webhooks.delivery import webhook_deliveries_send_due
from checkout.webhooks.outbox import events_dispatch_pending


class Command(BaseCommand):
    help = "Dispatch pending events and attempt due webhook deliveries in this process."

    def handle(self, *args, **options):
        dispatched = events_dispatch_pending(min_age_seconds=0)
        outcomes = webhook_deliveries_send_due()
        summary = ", ".join(f"{n} {status}" for status, n in sorted(outcomes.items())) or "none due"
        self.stdout.write(f"Dispatched {dispatched} event(s); deliveries: {summary}.")
