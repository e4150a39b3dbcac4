"""Settle the test provider's settle-later payments by hand (what the background task does).

    uv run python manage.py settle_payments

In the demo (`make run`, PAYMENTS_AUTO_SETTLE=false) a session paid with 4000 0000 0000 0077
stays processing until this runs. Idempotent: a payment already settled is left alone.
"""

from django.core.management.base import BaseCommand

from checkout.services.confirm import payment_settle, payments_pending_unsettled


class Command(BaseCommand):
    help = "Settle every pending test-provider payment (processing sessions become completed or open)."

    def handle(self, *args, **options):
        settled = 0
        for payment_id in payments_pending_unsettled(grace_seconds=0):
            result = payment_settle(payment_id=payment_id)
            if result is not None:
                settled += 1
                self.stdout.write(f"Payment {payment_id}: session {result.session.pk} is {result.session.status}.")
        self.stdout.write(f"Settled {settled} payment(s).")
