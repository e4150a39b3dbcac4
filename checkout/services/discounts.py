"""A promotion code the customer enters (or removes) on the hosted page: the session's locked
quote is priced again with the discount and the estimates are locked again, so what the page
then shows is what confirming bills."""

from decimal import Decimal

from django.utils import timezone

from billing import selectors as billing_selectors
from billing.errors import ContractChanged, PromotionCodesNotAllowed
from billing.estimates import Discount, Quote, estimate_contract_change, estimate_new_contract
from checkout.enums import CheckoutType
from checkout.models import CheckoutSession
from checkout.sessions.transitions import session_lock_open, session_transition

from .create import reporting_columns

FIELD = "promotion_code"


def checkout_session_promotion_code_apply(*, session_id, code: str | None, now=None) -> CheckoutSession:
    """Apply the promotion ``code`` to an open session that allows codes (``None`` removes the
    one applied). Refused with the reason as an error on ``promotion_code``: unknown, expired,
    used up, not for this plan or currency. Under the session's row lock (the confirm's), so a
    confirm racing it bills either the old estimate or the new one, never a mix."""
    now = now or timezone.now()
    with session_lock_open(session_id=session_id, now=now) as session:
        if not session.allow_promotion_codes:
            raise PromotionCodesNotAllowed(field=FIELD)
        offer = None
        if code is not None:
            offer = billing_selectors.discount_offer_get(
                organization_id=session.organization_id, livemode=session.livemode, currency=session.currency,
                plan_id=session.plan_id, now=now, code=code, field=FIELD)
        quote = Quote.from_json(session.quote).replace(discount=offer.discount if offer else None)
        estimates = _estimates(session, quote.discount, quote).to_json()
        session_transition(
            session,
            quote=quote.to_json(),
            estimates=estimates,
            **reporting_columns(attribution=session.attribution, estimates=estimates),
            coupon_id=offer.coupon_id if offer else None,
            promotion_code_id=offer.promotion_code_id if offer else None,
        )
    return session


def _estimates(session: CheckoutSession, discount: Discount | None, quote: Quote):
    """The locked quote priced again with ``discount``. A new contract keeps the tax rate its
    estimate was locked with; an amendment is priced against the contract as it stands, which
    must still be the one the session was priced on."""
    if session.checkout_type == CheckoutType.NEW_CONTRACT:
        current = session.estimates.get("current_invoice") or {}
        rate = current.get("tax_rate")
        return estimate_new_contract(quote=quote, tax_rate=None if rate is None else Decimal(rate),
                                     tax_reason=current.get("tax_reason") or "")
    contract = billing_selectors.contract_snapshot_get(
        organization_id=session.organization_id, contract_id=session.contract_id, on=session.start_date,
        with_plan_items=False)
    if (contract is None or contract.version != session.contract_version or contract.phase is None
            or str(contract.phase.id) != str(session.contract_phase_id)):
        raise ContractChanged()
    return estimate_contract_change(contract=contract, new_items=quote.phases[0].items,
                                    change_date=session.start_date, discount=discount)
