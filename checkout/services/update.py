"""Updating an open session's terms (PATCH): re-priced by the create's own rules and re-locked,
or refused; never a half-applied change."""

from django.utils import timezone

from checkout.errors import SessionChangedConcurrently
from checkout.models import CheckoutSession
from checkout.sessions.terms import PLAIN, SessionTerms
from checkout.sessions.transitions import session_lock_open, session_transition
from core.models import Organization

from .create import checkout_session_build, checkout_session_payment_check

# What a PATCH may change on the stored row: the terms it may change (every plain one, the
# customer's details, overrides, dates, expiry) and what pricing them again gives.
UPDATED_FIELDS = (
    *PLAIN, "customer_details", "product_overrides", "plan_choices", "expires_at",
    "start_date", "end_date", "contract_spec", "quote", "estimates", "contract_version", "contract_phase_id",
    "coupon_id", "promotion_code_id", "amount_total",
)


def checkout_session_update(*, organization: Organization, livemode: bool, session_id, terms: SessionTerms,
                            expected_updated_at) -> CheckoutSession:
    """Apply ``terms`` (the session's own with the change merged in, validated as a create)
    to an open session: priced again (today's catalogue, the contract as it stands)
    and locked again, so the hosted page and a confirm see the new terms. Under the session's
    row lock (the confirm's lock): a confirm racing an update ends in one outcome; a session
    changed since the caller read it (``expected_updated_at``) is refused, not overwritten."""
    priced = checkout_session_build(organization=organization, livemode=livemode, terms=terms)
    checkout_session_payment_check(priced)
    now = timezone.now()
    with session_lock_open(session_id=session_id, now=now, organization_id=organization.pk, livemode=livemode,
                           action="updated") as session:
        if session.updated_at != expected_updated_at:
            raise SessionChangedConcurrently()
        session_transition(session, **{name: getattr(priced, name) for name in UPDATED_FIELDS})
    return session
