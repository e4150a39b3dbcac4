"""Gunicorn settings for production: `gunicorn -c config/gunicorn.py config.wsgi:application`.

Threaded workers (gthread): a client that stalls while sending its body holds one thread,
not the whole worker, so slow or hostile clients cannot freeze every request (with sync
workers two stalled uploads froze the server for a minute). Put a buffering proxy (nginx,
a cloud load balancer) in front as well: it absorbs slow clients entirely. Every value can be
overridden with GUNICORN_* environment variables or on the command line.
"""

import os
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
worker_class = "core.gunicorn.JsonErrorsWorker"  # gthread, with JSON parse errors
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
# Request line and header limits: what gunicorn refuses itself (400/414/431) never reaches
# Django; see the README ("Errors answered before Django").
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
logger_class = "core.gunicorn.RedactingLogger"

# Prometheus (core.metrics): each worker writes its metrics to files in this directory and
# /metrics adds every worker's up, whichever worker answers the scrape. A fresh directory per
# server start unless PROMETHEUS_MULTIPROC_DIR names one (emptied at start). Set here, before the
# workers import prometheus-client, which reads it at import.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="checkout-prometheus-")


def on_starting(server):
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # a previous server's counts
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
