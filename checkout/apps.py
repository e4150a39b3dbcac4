from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "checkout"

    def ready(self):
        from billing.signals import billing_events
        from core.metrics import scrape_collector_register

        from .billing_events import billing_events_record
        from .metrics import CheckoutCollector

        scrape_collector_register(CheckoutCollector())
        # Billing's events go to merchants through this app's outbox (billing cannot import it).
        billing_events.connect(billing_events_record, dispatch_uid="checkout.billing_events_record")
