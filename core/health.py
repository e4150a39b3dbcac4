"""Dependency checks for ``/readyz``: each answers quickly (1 s at most) and never raises."""

import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 1


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except DatabaseError as exc:
        logger.warning("readiness: database unavailable: %s", exc)
        return "down"


def redis_check() -> str:
    url = settings.CELERY_BROKER_URL if settings.CELERY_BROKER_URL.startswith("redis") else settings.REDIS_URL
    if not url:
        return "not_configured"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except redis.RedisError as exc:
        logger.warning("readiness: redis unavailable: %s", exc)
        return "down"
