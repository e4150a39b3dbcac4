"""The customer switches between the plans the merchant offers (``plan_choices``: "Billed
monthly / Billed yearly") on the hosted page: the session's terms are priced again on the
chosen plan by the create's own rules and locked again, so what the page then shows is what
confirming bills."""

import dataclasses
import datetime
import uuid

from django.utils import timezone

from checkout.errors import PlanNotOffered
from checkout.models import CheckoutSession
from checkout.sessions.terms import SessionTerms
from checkout.sessions.transitions import session_lock_open, session_transition
from core.errors import DomainError

from .create import checkout_session_build
from .update import UPDATED_FIELDS

FIELD = "plan_id"


def checkout_session_plan_choose(*, session_id, plan_id: str, now=None) -> CheckoutSession:
    """Put the open session on ``plan_id``, one of its ``plan_choices`` (else ``PlanNotOffered``,
    nothing changes): its quote and estimates are rebuilt for that plan (the session's
    quantities, trial, discount and the customer's tax as the create prices them) and locked.
    A promotion code the customer entered stays applied when it is valid for the new plan and
    is dropped otherwise. Under the session's row lock (the confirm's): a confirm racing it
    bills the old estimate or the new one, never a mix."""
    now = now or timezone.now()
    with session_lock_open(session_id=session_id, now=now) as session:
        offered = {choice["plan_id"] for choice in session.plan_choices or ()}
        if str(plan_id) not in offered:
            raise PlanNotOffered(field=FIELD)
        if str(plan_id) == str(session.plan_id):
            return session
        terms = _terms_on_plan(SessionTerms.of_session(session), plan_id)
        priced = _priced(session, terms)
        session_transition(session, plan_id=uuid.UUID(str(priced.plan_id)),
                           **{name: getattr(priced, name) for name in UPDATED_FIELDS})
    return session


def _terms_on_plan(terms: SessionTerms, plan_id: str) -> SessionTerms:
    if terms.contract is not None:
        # Seed 000's contract object carries the plan; stored as JSON, its dates are read back
        # as the validated request gives them.
        contract = {**terms.contract, "plan_id": plan_id}
        for name in ("start_date", "end_date"):
            if isinstance(contract.get(name), str):
                contract[name] = datetime.date.fromisoformat(contract[name])
        return dataclasses.replace(terms, contract=contract)
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
