"""The recovery URL an expired session gets (``after_expiration.recovery.enabled``): the hosted
page's address plus ``/recover``. Written by whatever expires the session, in the same
statement, so the session row, the API and the ``checkout_session.expired`` event agree."""

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.db.models.functions import Concat


def recovery_url_base() -> str:
    return f"{settings.PUBLIC_BASE_URL}/pay/"


def recovery_url_expression():
    """``recovery_url_base()`` + token + ``/recover`` for sessions with recovery enabled, "" for
    the others: for an ``UPDATE`` that expires sessions (``checkout.fastsql`` has it in SQL)."""
    return Case(When(recovery_enabled=True, then=Concat(Value(recovery_url_base()), F("token"), Value("/recover"))),
                default=Value(""))
