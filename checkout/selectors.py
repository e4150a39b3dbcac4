"""Reads of checkout sessions. Reading applies expiry (a due session is expired on read)."""

from checkout.errors import SessionNotFound
from checkout.models import CheckoutSession
from checkout.services.lifecycle import checkout_session_expire_if_due


def checkout_session_get(*, organization_id, session_id) -> CheckoutSession:
    """The organization's session, expired if due. Another tenant's id is not found."""
    session = CheckoutSession.objects.filter(pk=session_id, organization_id=organization_id).first()
    if session is None:
        raise SessionNotFound()
    return checkout_session_expire_if_due(session)


def checkout_session_get_by_token(*, token: str) -> CheckoutSession:
    """The session behind a hosted-page token, expired if due."""
    session = (
        CheckoutSession.objects.select_related("business_entity", "customer", "plan")
        .filter(token=token)
        .first()
    )
    if session is None:
        raise SessionNotFound()
    return checkout_session_expire_if_due(session)
