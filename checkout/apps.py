from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "checkout"

    def ready(self):
        from billing.signals import billing_events
        from core.metrics import scrape_collector_register

        from .billing_events import billing_events_record
        from .metrics import CheckoutCollector
        from .services.invoice_emails import invoice_emails_record

        scrape_collector_register(CheckoutCollector())
        # Billing's events go to merchants through this app's outbox (billing cannot import it).
        billing_events.connect(billing_events_record, dispatch_uid="checkout.billing_events_record")
        # A failed renewal charge e-mails the customer the hosted invoice page, in that transaction.
        billing_events.connect(invoice_emails_record, dispatch_uid="checkout.invoice_emails_record")
