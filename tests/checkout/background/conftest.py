"""Fixtures for the background work: bulk sessions, a loopback webhook receiver, a real
Celery worker on the Redis broker, and a throwaway Redis that tests may stop."""

import datetime
import shutil
import socket
import subprocess
import time
import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from bench.common import free_port
from checkout.enums import SessionStatus
from checkout.models import CheckoutSession
from checkout.tokens import session_token_new
from tests.checkout.factories import CheckoutSessionFactory
from tests.readme import readme_verify

requires_postgres = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="needs PostgreSQL (row locks, SKIP LOCKED)",
)
requires_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (a real broker)")


# --- sessions in bulk ---------------------------------------------------------------

@pytest.fixture
def sessions_bulk(db):
    """``make(n, expires_at=…, status=…)``: n sessions sharing one organization,
    customer and plan (factories per row would dominate the test's run time)."""
    template = {}

    def make(n, *, expires_at, status=SessionStatus.OPEN, organization=None, **fields):
        key = organization.pk if organization else None
        if key not in template:
            kwargs = {"organization": organization} if organization else {}
            template[key] = CheckoutSessionFactory(expires_at=timezone.now() + datetime.timedelta(days=1), **kwargs)
        base = template[key]
        now = timezone.now()
        rows = [
            CheckoutSession(
                id=uuid.uuid4(),
                organization_id=base.organization_id,
                checkout_type=base.checkout_type,
                status=status,
                payment_status=base.payment_status,
                token=session_token_new(),
                plan_id=base.plan_id,
                customer_id=base.customer_id,
                business_entity_id=base.business_entity_id,
                currency="USD",
                start_date=base.start_date,
                expires_at=expires_at,
                created_at=now,
                updated_at=now,
                **fields,
            )
            for _ in range(n)
        ]
        CheckoutSession.objects.bulk_create(rows, batch_size=1000)
        return [row.id for row in rows]

    return make


# --- a webhook receiver on loopback ----------------------------------------------------

# What a merchant's receiver runs: the README's verification snippet itself.
signature_valid = readme_verify()


# --- Celery: a real worker on the real broker ------------------------------------------

def _pools_reset(app):
    """Forget pooled broker connections (after the broker URL changed or Redis died)."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_app():
    """The project's app, switched to real (not eager) sending for one test."""
    from config.celery import app

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "worker_hijack_root_logger")}
    app.conf.task_always_eager = False
    app.conf.worker_hijack_root_logger = False
    yield app
    app.conf.update(saved)
    _pools_reset(app)


@pytest.fixture
def start_celery_worker(celery_app, transactional_db):
    """``with start_celery_worker(): …`` runs a worker thread (solo pool) on the
    configured broker; the worker sees rows the test committed."""
    from celery.contrib.testing.worker import start_worker

    def start():
        celery_app.control.purge()  # leftovers of earlier tests are not this test's work
        return start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30,
                            loglevel="WARNING")

    yield start


@pytest.fixture
def throwaway_redis(celery_app):
    """A Redis of our own on a free port (never the shared one, and never another run's: the
    machine is shared, and xdist runs tests side by side), as the broker for one test.
    ``.stop()`` / ``.start()`` simulate an outage."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed")

    class ThrowawayRedis:
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"

        def ping(self) -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        def start(self):
            subprocess.run(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                 "no", "--daemonize", "yes"],
                check=True, capture_output=True,
            )
            for _ in range(50):
                if self.ping():
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError("throwaway redis did not start")
            _pools_reset(celery_app)

        def stop(self):
            subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True,
                           check=False)
            for _ in range(50):
                if not self.ping():
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError("throwaway redis did not stop")
            _pools_reset(celery_app)

    redis = ThrowawayRedis()
    redis.start()
    celery_app.conf.broker_url = redis.url
    _pools_reset(celery_app)
    yield redis
    if redis.ping():
        redis.stop()
