"""Checkout's scrape-time metrics (registered with core.metrics in CheckoutConfig.ready): one
selector, read at every Prometheus scrape."""

import logging

from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily

from checkout.selectors import checkout_metrics_get

logger = logging.getLogger(__name__)


class CheckoutCollector:
    def collect(self):
        up = GaugeMetricFamily("checkout_metrics_database_up", "1 if the database answered the scrape's queries.")
        try:
            metrics = checkout_metrics_get()
        except DatabaseError as exc:
            logger.warning("metrics: database unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        sessions = GaugeMetricFamily(
            "checkout_sessions_last_24h",
            "Checkout sessions created in the last 24 hours, by mode and by what they are now (open sessions "
            "past expires_at count as expired).",
            labels=["livemode", "status"])
        for (livemode, status), count in sorted(metrics.sessions_recent.items()):
            sessions.add_metric(["true" if livemode else "false", status], count)
        yield sessions
        yield GaugeMetricFamily(
            "checkout_expiry_sweep_lag_seconds",
            "Age past expires_at of the oldest open session the expiry sweep has not expired yet (0: none due).",
            value=metrics.sweep_lag_seconds)
        deliveries = GaugeMetricFamily(
            "checkout_webhook_deliveries_last_24h",
            "Webhook deliveries created in the last 24 hours, by status (pending, succeeded, failed: gave up).",
            labels=["status"])
        for status, count in sorted(metrics.deliveries_recent.items()):
            deliveries.add_metric([status], count)
        yield deliveries
        yield GaugeMetricFamily("checkout_webhook_deliveries_pending", "Webhook deliveries waiting to be sent "
                                "or retried.", value=metrics.deliveries_pending)
        yield GaugeMetricFamily(
            "checkout_webhook_oldest_pending_delivery_age_seconds",
            "Age of the oldest webhook delivery still pending (0: none).",
            value=metrics.oldest_pending_delivery_age_seconds)
