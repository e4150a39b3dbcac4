from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "checkout"

    def ready(self):
        from core.metrics import scrape_collector_register

        from .metrics import CheckoutCollector

        scrape_collector_register(CheckoutCollector())
