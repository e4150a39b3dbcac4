"""What customers do on the hosted page, recorded cheaply for the ops dashboard (#29).

A page view costs at most one ``INSERT … ON CONFLICT DO NOTHING`` per session per worker
process: a process-local set remembers the sessions already recorded, so reloads (and the page
cache's fast path) add nothing. The session row itself is never written (its ``updated_at`` keys
the page cache). Payment attempts need no recording of their own: each is a ``Payment`` row the
confirm service writes anyway.
"""

import logging

from django.db import DatabaseError
from django.utils import timezone

from checkout.models import PageView
from core.lru import LocalLru

logger = logging.getLogger(__name__)

_recorded = LocalLru(size=8192)


def page_view_record(session_id) -> None:
    """Remember that ``session_id``'s page was opened (the first time only). Never raises: a
    failed write loses one view, never the page."""
    if _recorded.get(session_id):
        return
    try:
        PageView.objects.bulk_create([PageView(checkout_session_id=session_id, opened_at=timezone.now())],
                                     ignore_conflicts=True)
    except DatabaseError:
        logger.warning("page view of checkout session %s not recorded", session_id, exc_info=True)
        return
    _recorded.put(session_id, True)
