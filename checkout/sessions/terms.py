"""A session's terms: what the merchant asked it to sell, to whom, and how its page behaves.

``SessionTerms`` is the one shape of those terms, whichever way they arrive: a create request
(``from_request``, on what ``CheckoutSessionCreateSerializer`` validated), a PATCH (the
session's own terms, ``of_session``, written back as the create request that makes them,
``request``, with the change merged in and validated again) and a recovery (the same, priced
on another day). The pricing (``checkout.services.create.checkout_session_build``) turns them
into a session; ``columns`` are the session columns they are stored in as they are.

Adding a field the merchant gives and gets back as it is (``client_reference_id``): one
``_plain`` field here, the model column with its migration, and the API's shape (the create
and PATCH serializers, the response serializer for the schema). Its request key, column,
JSON key and PATCH handling follow from the declaration; ``checkout.representation`` shows
every plain field.
"""

import datetime
import json
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from uuid import UUID

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from checkout.enums import CheckoutType, PageLocale, PaymentMethodCollection

# How a plain field is shown: text (stored "" when not given, shown as null), a JSON object
# (stored and shown {} when not given) or a choice (shown as stored).
TEXT, OBJECT, CHOICE = "text", "object", "choice"


def _plain(kind: str, default):
    """A term the merchant gives, the session stores in the column of the same name, the API
    shows under that name and a PATCH may change."""
    if kind == OBJECT:
        return field(default_factory=dict, metadata={"plain": kind})
    return field(default=default, metadata={"plain": kind})


@dataclass(frozen=True)
class SessionTerms:
    """The terms of one session (validated values: UUIDs, dates, datetimes)."""

    checkout_type: str
    # What is sold: a plan, a product-based contract (``contract``, as given), or a change of
    # ``contract_id`` (a plan switch with ``plan_id``, else a quantity update).
    contract: dict | None = None
    plan_id: UUID | None = None
    contract_id: UUID | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    currency: str | None = None
    product_overrides: list = field(default_factory=list)
    # Plan-based new contracts: the plans the customer may switch between on the page (ids).
    plan_choices: list = field(default_factory=list)
    # Who buys: a customer, or a guest whose customer is made when the session is confirmed.
    customer_id: UUID | None = None
    guest_checkout: bool = False
    customer: dict | None = None
    business_entity_id: UUID | None = None
    # What changes the price.
    discounts: list = field(default_factory=list)
    allow_promotion_codes: bool = False
    trial_period_days: int | None = None
    trial_end: datetime.date | None = None
    # The session's life and page.
    expires_at: datetime.datetime | None = None
    consent_required: bool = False
    recovery_enabled: bool = False
    attribution: dict | None = None
    trace_id: str = ""
    # Given, stored and shown as they are.
    success_url: str = _plain(TEXT, "")
    cancel_url: str = _plain(TEXT, "")
    pending_url: str = _plain(TEXT, "")
    client_reference_id: str = _plain(TEXT, "")
    metadata: dict = _plain(OBJECT, None)
    locale: str = _plain(CHOICE, PageLocale.AUTO)
    payment_method_collection: str = _plain(CHOICE, PaymentMethodCollection.ALWAYS)

    @classmethod
    def from_request(cls, data: dict) -> "SessionTerms":
        """The terms a validated create request gives (``checkout_type`` detected by the serializer)."""
        given = {name: data[name] for name in PLAIN if data.get(name) is not None}
        return cls(
            checkout_type=data["checkout_type"],
            contract=data.get("contract"),
            plan_id=data.get("plan_id"),
            contract_id=data.get("contract_id"),
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
            currency=data.get("currency"),
            product_overrides=list(data.get("product_overrides") or ()),
            plan_choices=list(data.get("plan_choices") or ()),
            customer_id=data.get("customer_id"),
            guest_checkout=bool(data.get("guest_checkout")),
            customer=data.get("customer"),
            business_entity_id=data.get("business_entity_id"),
            discounts=list(data.get("discounts") or ()),
            allow_promotion_codes=bool(data.get("allow_promotion_codes")),
            trial_period_days=data.get("trial_period_days"),
            trial_end=data.get("trial_end"),
            expires_at=data.get("expires_at"),
            consent_required=((data.get("consent_collection") or {}).get("terms_of_service") or "none") == "required",
            recovery_enabled=bool(((data.get("after_expiration") or {}).get("recovery") or {}).get("enabled")),
            attribution=data.get("attribution"),
            trace_id=data.get("trace_id") or "",
            **given,
        )

    @classmethod
    def of_session(cls, session) -> "SessionTerms":
        """The terms ``session`` was made with, as it stands (after PATCHes; a promotion code the
        customer entered on the page is not among them: it is not the merchant's request)."""
        new_contract = session.checkout_type == CheckoutType.NEW_CONTRACT
        sells_plan = session.checkout_type == CheckoutType.PLAN_SWITCH or (new_contract and not session.contract_spec)
        quote = session.quote or {}
        if session.promotion_code_id is not None and not session.allow_promotion_codes:
            discounts = [{"promotion_code": quote["discount"]["promotion_code"]}]
        elif session.coupon_id is not None and not session.allow_promotion_codes:
            discounts = [{"coupon_id": session.coupon_id}]
        else:
            discounts = []
        return cls(
            checkout_type=session.checkout_type,
            contract=_contract_spec(session.contract_spec) if new_contract else None,
            plan_id=session.plan_id if sells_plan else None,
            contract_id=None if new_contract else session.contract_id,
            start_date=session.start_date,
            end_date=session.end_date if new_contract and not session.contract_spec else None,
            product_overrides=list(session.product_overrides or ()),
            plan_choices=[choice["plan_id"] for choice in session.plan_choices or ()],
            customer_id=None if session.guest_checkout else session.customer_id,
            guest_checkout=session.guest_checkout,
            customer=session.customer_details if session.guest_checkout else None,
            business_entity_id=session.business_entity_id if new_contract else None,
            discounts=discounts,
            allow_promotion_codes=session.allow_promotion_codes,
            trial_end=datetime.date.fromisoformat(quote["trial_end"]) if quote.get("trial_end") else None,
            expires_at=session.expires_at,
            consent_required=bool(session.terms_url),
            recovery_enabled=session.recovery_enabled,
            attribution=session.attribution,
            trace_id=session.trace_id,
            **{name: getattr(session, name) for name in PLAIN},
        )

    def columns(self, *, now: datetime.datetime) -> dict:
        """The session columns these terms are stored in as they are (the priced ones, the
        contract, dates, quote and estimates, come from the pricing)."""
        return {
            "checkout_type": self.checkout_type,
            "guest_checkout": self.guest_checkout,
            "customer_details": jsonable(self.customer),
            "product_overrides": jsonable(self.product_overrides),
            "attribution": jsonable(self.attribution),
            "trace_id": self.trace_id,
            "expires_at": self.expires_at
            or now + datetime.timedelta(hours=settings.CHECKOUT_SESSION_DEFAULT_TTL_HOURS),
            "allow_promotion_codes": self.allow_promotion_codes,
            "recovery_enabled": self.recovery_enabled,
            **{name: jsonable(getattr(self, name)) for name in PLAIN},
        }

    def request(self) -> dict:
        """The create request (JSON values) that gives these terms: what a PATCH is merged
        into and validated again, by the create's own rules."""
        body: dict = {}
        if self.checkout_type == CheckoutType.SETUP:
            body.update(mode="setup", customer_id=str(self.customer_id))
            if self.contract_id is not None:
                body["contract_id"] = str(self.contract_id)
        elif self.contract is not None:
            body["contract"] = jsonable(self.contract)
        elif self.contract_id is not None:
            body.update(contract_id=str(self.contract_id), start_date=_iso(self.start_date))
        else:
            body.update(start_date=_iso(self.start_date), end_date=_iso(self.end_date))
        if self.plan_id is not None:
            body["plan_id"] = str(self.plan_id)
        if self.contract_id is None and self.checkout_type != CheckoutType.SETUP:
            if self.guest_checkout:
                body.update(guest_checkout=True, customer=jsonable(self.customer))
            else:
                body["customer_id"] = str(self.customer_id)
            body["business_entity_id"] = str(self.business_entity_id)
        if self.product_overrides:
            body["product_overrides"] = jsonable(self.product_overrides)
        if self.plan_choices:
            body["plan_choices"] = [str(plan_id) for plan_id in self.plan_choices]
        if self.discounts:
            body["discounts"] = jsonable(self.discounts)
        if self.allow_promotion_codes:
            body["allow_promotion_codes"] = True
        if self.trial_period_days is not None:
            body["trial_period_days"] = self.trial_period_days
        if self.trial_end is not None:
            body["trial_end"] = _iso(self.trial_end)
        if self.expires_at is not None:
            body["expires_at"] = datetime_text(self.expires_at)
        if self.consent_required:
            body["consent_collection"] = {"terms_of_service": "required"}
        if self.recovery_enabled:
            body["after_expiration"] = {"recovery": {"enabled": True}}
        body["attribution"] = jsonable(self.attribution)
        for name, kind in PLAIN.items():
            value = getattr(self, name)
            if kind == OBJECT or value != _PLAIN_DEFAULTS[name]:
                body[name] = jsonable(value)
        return body


# The plain fields: name → how it is shown.
PLAIN = {f.name: f.metadata["plain"] for f in fields(SessionTerms) if "plain" in f.metadata}
_PLAIN_DEFAULTS = {f.name: f.default for f in fields(SessionTerms) if f.metadata.get("plain") in (TEXT, CHOICE)}


def plain_json(session) -> dict:
    """A session's plain terms as the API shows them."""
    shown = {}
    for name, kind in PLAIN.items():
        value = getattr(session, name)
        shown[name] = (value or None) if kind == TEXT else ({} if kind == OBJECT and not value else value)
    return shown


def _contract_spec(spec: dict | None) -> dict | None:
    """A new contract's object (seed 000's ``contract``) as the validated request gives it: stored
    as JSON, its dates are read back as dates."""
    if not spec:
        return spec
    spec = dict(spec)
    for name in ("start_date", "end_date"):
        if isinstance(spec.get(name), str):
            spec[name] = datetime.date.fromisoformat(spec[name])
    return spec


def quoted_quantities(quote: dict | None) -> dict[str, int]:
    """Product id → quantity of the lines a new contract's locked quote sells (an add-on left
    out is not among them)."""
    phases = (quote or {}).get("phases") or ()
    return {str(item["product_id"]): item["quantity"] for item in (phases[0]["items"] if phases else ())}


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def datetime_text(value) -> str | None:
    """DRF's wire format for datetimes (ISO-8601, "Z" for UTC), to the microsecond."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def jsonable(value):
    """Validated data (UUIDs, dates, ordered dicts) as plain JSON values: what a round trip
    through ``DjangoJSONEncoder`` gives, without encoding and parsing the text. Keys are
    strings already (serializer field names, keys of parsed JSON objects)."""
    if value is None:
        return None
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return value
    if kind is dict or kind is OrderedDict:
        return {k: jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [jsonable(v) for v in value]
    if kind is UUID:
        return str(value)
    if kind is datetime.date:
        return value.isoformat()
    # Anything else (datetimes, decimals, str subclasses, …): the encoder's own rendering.
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


_PLAIN_TYPES = frozenset({str, int, bool, float})
