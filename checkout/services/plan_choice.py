"""What the customer adjusts on the hosted page, within what the merchant allows: the plan
among ``plan_choices`` ("Billed monthly / Billed yearly"), the quantity of a line with
``adjustable_quantity`` and whether an ``optional`` add-on is kept. The session's terms are
priced again with the change by the create's own rules and locked again, so what the page then
shows is what confirming bills."""

import dataclasses
import uuid
from collections.abc import Mapping

from django.utils import timezone

from checkout.errors import LineNotAdjustable, PlanNotOffered, QuantityNotInRange
from checkout.models import CheckoutSession
from checkout.sessions.terms import SessionTerms, quoted_quantities
from checkout.sessions.transitions import session_lock_open, session_transition
from core.errors import DomainError

from .create import checkout_session_build, checkout_session_payment_check
from .update import UPDATED_FIELDS

FIELD = "plan_id"


def checkout_session_plan_choose(*, session_id, plan_id: str, now=None) -> CheckoutSession:
    """Put the open session on ``plan_id``, one of its ``plan_choices`` (else ``PlanNotOffered``,
    nothing changes): ``checkout_session_adjust`` with the plan alone."""
    return checkout_session_adjust(session_id=session_id, plan_id=plan_id, now=now)


def checkout_session_adjust(*, session_id, plan_id: str | None = None, quantities: Mapping[str, object] | None = None,
                            included: Mapping[str, bool] | None = None, now=None) -> CheckoutSession:
    """Apply what the customer changed on the hosted page, all or nothing: ``plan_id`` (one of
    the session's ``plan_choices``, else ``PlanNotOffered``), ``quantities`` (product id → the
    quantity typed for a line with ``adjustable_quantity``, within its bounds, else
    ``QuantityNotInRange``) and ``included`` (product id → whether an ``optional`` add-on is
    kept). A line the merchant did not make adjustable or optional is refused
    (``LineNotAdjustable``). The quote and estimates are rebuilt (the create's own rules: the
    session's trial, discount and the customer's tax) and locked. A promotion code the customer
    entered stays applied when it is still valid and is dropped otherwise. Under the session's
    row lock (the confirm's): a confirm racing it bills the old estimate or the new one, never
    a mix."""
    now = now or timezone.now()
    with session_lock_open(session_id=session_id, now=now) as session:
        terms = SessionTerms.of_session(session)
        plan_changed = False
        if plan_id is not None:
            offered = {choice["plan_id"] for choice in session.plan_choices or ()}
            if str(plan_id) not in offered:
                raise PlanNotOffered(field=FIELD)
            if str(plan_id) != str(session.plan_id):
                terms, plan_changed = _terms_on_plan(terms, plan_id), True
        overrides = adjusted_overrides(session.product_overrides or [], quoted_quantities(session.quote),
                                       quantities or {}, included or {})
        items_changed = overrides != (session.product_overrides or [])
        if not plan_changed and not items_changed:
            return session
        if items_changed:
            terms = dataclasses.replace(terms, product_overrides=overrides)
        priced = _priced(session, terms)
        checkout_session_payment_check(priced)  # a new price its card provider cannot charge: refused
        plan = {"plan_id": uuid.UUID(str(priced.plan_id))} if plan_changed else {}
        session_transition(session, **plan, **{name: getattr(priced, name) for name in UPDATED_FIELDS})
    return session


def adjusted_overrides(overrides: list, current: Mapping[str, int], quantities: Mapping[str, object],
                       included: Mapping[str, bool]) -> list:
    """``overrides`` (the session's ``product_overrides``) with the customer's changes, checked
    against what the merchant allowed each line; pure. ``current``: the quantities sold now
    (``quoted_quantities``): a quantity or add-on left as it is changes nothing, whatever the
    line. Fields named in errors are the page's inputs (``quantity_<product id>``,
    ``addon_<product id>``)."""
    lines = [dict(line) for line in overrides]
    by_product = {str(line.get("product_id")): line for line in lines}
    for product_id, given in quantities.items():
        if str(product_id) in current and _whole_number(given) == current[str(product_id)]:
            continue
        line = by_product.get(str(product_id))
        bounds = (line or {}).get("adjustable_quantity") or {}
        if not bounds.get("enabled"):
            raise LineNotAdjustable(field=f"quantity_{product_id}")
        minimum, maximum = bounds["minimum"], bounds["maximum"]
        quantity = _whole_number(given)
        if quantity is None or not minimum <= quantity <= maximum:
            raise QuantityNotInRange(minimum=minimum, maximum=maximum, field=f"quantity_{product_id}")
        line["quantity"] = quantity
    for product_id, keep in included.items():
        if bool(keep) == (str(product_id) in current):
            continue
        line = by_product.get(str(product_id))
        if line is None or not line.get("optional"):
            raise LineNotAdjustable(field=f"addon_{product_id}")
        line["is_enabled"] = bool(keep)
    return lines


def _whole_number(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.isdigit() or len(text) > 6:
        return None
    return int(text)


def _terms_on_plan(terms: SessionTerms, plan_id: str) -> SessionTerms:
    if terms.contract is not None:
        return dataclasses.replace(terms, contract={**terms.contract, "plan_id": plan_id})
    return dataclasses.replace(terms, plan_id=plan_id)


def _priced(session: CheckoutSession, terms: SessionTerms) -> CheckoutSession:
    """The session priced on ``terms``, keeping a promotion code entered on the page if the new
    plan takes it (a code limited to the other plan is not an error here: the customer did not
    ask to drop it, but it cannot apply)."""
    build = dict(organization=session.organization, livemode=session.livemode)
    code = ((session.quote or {}).get("discount") or {}).get("promotion_code")
    if session.allow_promotion_codes and session.promotion_code_id is not None and code:
        try:
            return checkout_session_build(**build, terms=dataclasses.replace(
                terms, discounts=[{"promotion_code": code}]))
        except DomainError as error:
            if not any(name.startswith("discounts") for name in error.fields):
                raise
    return checkout_session_build(**build, terms=terms)
