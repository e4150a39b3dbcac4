"""Shapes of the merchant API: what a request may carry and what a response contains.

Input serializers check shapes only (types, lengths, formats, which fields go together);
rules that need the database live in ``checkout.services.create``. Every error carries a
stable code (``ErrorDetail.code``) that ``core.errors.api_exception_handler`` lifts into
the error envelope.
"""

import datetime
import json
import re

from babel.numbers import list_currencies
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from billing.estimates import MAX_TRIAL_DAYS
from checkout.api.field_tree import field_clone, fields_build, shared_fields
from checkout.enums import (
    CancellationReason,
    CheckoutType,
    PageLocale,
    PaymentMethodCollection,
    PaymentStatus,
    SessionStatus,
)
from checkout.selectors import EXPANDABLE
from checkout.sessions.terms import SessionTerms
from checkout.urlrules import URL_MAX, URL_PATTERN, url_problem
from core.countries import country_codes
from core.errors import DRF_CODES
from core.middleware import TRACE_ID_PATTERN
from core.money import NON_MONEY_CODES, is_currency
from customers.tax_ids import tax_id_check

METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_BYTES = 8192
QUANTITY_MAX = 1_000_000

def fail(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


class CodedFieldMixin:
    """Re-raises DRF's built-in failures under our codes: a key of ``error_codes`` (set on the
    class, or per field as ``error_codes={...}``) → its code, ``invalid`` → ``error_code``,
    any other key → ``DRF_CODES``."""

    error_code = "invalid_type"
    error_codes: dict[str, str] = {}

    def __init__(self, *args, error_codes: dict[str, str] | None = None, **kwargs):
        if error_codes:
            self.error_codes = {**self.error_codes, **error_codes}
        super().__init__(*args, **kwargs)

    def _code(self, key: str) -> str:
        if key in self.error_codes:
            return self.error_codes[key]
        return self.error_code if key == "invalid" else DRF_CODES.get(key, key)

    def fail(self, key, **kwargs):
        try:
            super().fail(key, **kwargs)
        except ValidationError as exc:
            raise fail(str(exc.detail[0]), self._code(key)) from None

    def run_validators(self, value):
        # Django validators (EmailValidator, …) fail with code "invalid" too.
        try:
            super().run_validators(value)
        except ValidationError as exc:
            details = exc.detail if isinstance(exc.detail, list) else [exc.detail]
            first = details[0]
            raise fail(str(first), self._code(getattr(first, "code", "invalid"))) from None


class IdField(CodedFieldMixin, serializers.UUIDField):
    error_code = "invalid_id"
    default_error_messages = {"invalid": "Must be a UUID."}


DATE_MIN, DATE_MAX = datetime.date(2000, 1, 1), datetime.date(2100, 12, 31)


def parse_datetime_or_none(value: str) -> datetime.datetime | None:
    try:
        return parse_datetime(value)
    except ValueError:  # well-formed but impossible (month 13, hour 25)
        return None


@extend_schema_field({
    "anyOf": [
        {"type": "string", "format": "date", "pattern": r"^(?:20[0-9]{2}|2100)-"},
        {"type": "string", "format": "date-time", "pattern": r"^(?:20[0-9]{2}|2100)-"},
    ],
    "description": f"A date, YYYY-MM-DD, between {DATE_MIN} and {DATE_MAX}; an ISO-8601 date-time is taken "
    "as its date in UTC.",
})
class DateField(CodedFieldMixin, serializers.DateField):
    """A date, ``YYYY-MM-DD``; an ISO-8601 date-time (the billing vendor's own examples send
    ``2025-01-01T00:00:00Z``) is accepted as its date in UTC (a naive one is taken as UTC)."""

    error_code = "invalid_date"
    default_error_messages = {
        "invalid": "Must be a date (YYYY-MM-DD) or an ISO-8601 date-time (its date in UTC is used)."}

    def to_internal_value(self, value):
        if isinstance(value, str) and "T" in value:
            moment = parse_datetime_or_none(value)
            if moment is None:
                self.fail("invalid")
            value = (moment.astimezone(datetime.UTC) if moment.tzinfo else moment).date().isoformat()
        day = super().to_internal_value(value)
        if not DATE_MIN <= day <= DATE_MAX:
            raise fail(f"Must be between {DATE_MIN} and {DATE_MAX}.", "date_out_of_range")
        return day


class DateTimeField(CodedFieldMixin, serializers.DateTimeField):
    error_code = "invalid_datetime"
    default_error_messages = {
        "invalid": "Must be an ISO-8601 date-time, such as 2026-01-15T12:00:00Z."
    }


class StringField(CodedFieldMixin, serializers.CharField):
    """A JSON string: numbers and booleans are refused, not turned into text (the schema says
    string, and ``"detail": 0`` is a client bug worth hearing about)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise fail("Must be a string.", "invalid_type")
        return super().to_internal_value(data)


class IntegerField(CodedFieldMixin, serializers.IntegerField):
    """A JSON number with no fractional part: ``"5"`` (a string) and ``true`` are refused, not
    converted (the schema says integer; DRF alone would take ``"5"``, ``"１"`` and ``True``)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise fail("Must be an integer.", "invalid_type")
        return super().to_internal_value(data)


class QueryIntegerField(IntegerField):
    """An integer in a query string, where every value is text: ASCII digits only (``int()``
    would also read ``"１"``, ``" 5"`` and ``"5_0"``)."""

    def to_internal_value(self, data):
        if not (isinstance(data, str) and re.fullmatch(r"[0-9]{1,9}", data)):
            raise fail("Must be an integer (ASCII digits).", "invalid_type")
        return super().to_internal_value(int(data))


class BooleanField(CodedFieldMixin, serializers.BooleanField):
    """JSON ``true`` or ``false`` only: ``"false"`` (a string, truthy in most languages) and
    ``0``/``1`` are refused, not guessed at."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            raise fail("Must be a boolean (true or false).", "invalid_type")
        return data


class ChoiceField(CodedFieldMixin, serializers.ChoiceField):
    pass


class EmailField(CodedFieldMixin, serializers.EmailField):
    error_code = "invalid_email"


def billable_currencies() -> list[str]:
    return sorted(code for code in list_currencies() if is_currency(code))  # is_currency leaves out NON_MONEY_CODES


def _one_case_enum(codes: list[str], description: str) -> dict:
    """Codes as an upper-case enum (generators make one name per value: ``AC`` and ``ac`` would
    collide), the lower-case spelling the API also takes as a pattern beside it."""
    return {"anyOf": [{"type": "string", "enum": codes},
                      {"type": "string", "pattern": "^(?:" + "|".join(code.lower() for code in codes) + ")$"}],
            "description": description}


@extend_schema_field(_one_case_enum(
    billable_currencies(),
    "ISO-4217 code of a currency money can be billed in, upper or lower case (USD or usd); answered upper case."))
class CurrencyField(StringField):
    """ISO-4217 code, upper or lower case (as Stripe's integrations send it), stored upper-case."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "ISO-4217 currency code, e.g. USD.")
        super().__init__(max_length=3, min_length=3, **kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        value = text.upper()
        if text not in (value, value.lower()):
            raise fail("Must be an ISO-4217 currency code in upper or lower case, such as USD.",
                       "invalid_currency")
        if value in NON_MONEY_CODES:
            raise fail(f"{value} is an ISO-4217 code for a metal or an accounting unit, not a currency "
                       "that can be billed.", "invalid_currency")
        if not is_currency(value):
            raise fail("Must be an ISO-4217 currency code, such as USD.", "invalid_currency")
        return value


def redirect_url_check(value: str) -> None:
    problem = url_problem(value)
    if problem is not None:
        code, message = problem
        raise fail(message, code)


@extend_schema_field({
    "type": "string", "minLength": 1, "maxLength": URL_MAX, "pattern": URL_PATTERN,
    "description": "An absolute http(s) URL (https for live keys) on a DNS name, an IPv4 address or "
    "localhost; no spaces, no user info. Not `format: uri`: internationalised host names and the "
    "{CHECKOUT_SESSION_ID} placeholder are welcome.",
})
class RedirectUrlField(StringField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", None)
        super().__init__(trim_whitespace=False, **kwargs)

    def run_validation(self, data=serializers.empty):
        if data == "":  # a length rule (1–2083), not a missing field
            raise fail("Must be an absolute http or https URL.", "invalid_url")
        return super().run_validation(data)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        redirect_url_check(value)
        return value


_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


JSON_NUMBER_LIMIT = 1e38


def json_text_check(value, depth: int = 0) -> None:
    """PostgreSQL's jsonb refuses NUL characters and Python's encoder lone surrogates: both
    are refused here, as input errors, before they can become server errors. Numbers stay
    within ±1e38 (what the schema's JsonValue states)."""
    if depth > 20:
        raise fail("Nested too deeply (at most 20 levels).", "invalid_type")
    if isinstance(value, str):
        if _BAD_TEXT.search(value):
            raise fail(
                "Text may not contain NUL or unpaired surrogate characters.", "invalid_characters"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            json_text_check(key, depth + 1)
            json_text_check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            json_text_check(item, depth + 1)
    elif isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > JSON_NUMBER_LIMIT:
        raise fail(f"Numbers must lie within ±{JSON_NUMBER_LIMIT:g}.", "value_out_of_range")


# Text in JSON values: no NUL (PostgreSQL's jsonb cannot hold it).
JSON_TEXT_SCHEMA = {"type": "string", "pattern": "^[^\\x00]*$"}
JSON_KEY_SCHEMA = {**JSON_TEXT_SCHEMA, "minLength": 1, "maxLength": METADATA_MAX_KEY_LENGTH}


@extend_schema_field(
    {
        "type": "object",
        "propertyNames": JSON_KEY_SCHEMA,
        # A component the schema hook adds: any JSON value whose text holds no NUL.
        "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
        "maxProperties": METADATA_MAX_KEYS,
        "description": f"A JSON object: at most {METADATA_MAX_KEYS} keys of at most "
        f"{METADATA_MAX_KEY_LENGTH} characters, at most {METADATA_MAX_BYTES} bytes as JSON.",
    }
)
class JsonObjectField(serializers.Field):
    """A bounded JSON object (metadata, custom data)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise fail("Must be a JSON object.", "invalid_type")
        if len(data) > METADATA_MAX_KEYS:
            raise fail(f"At most {METADATA_MAX_KEYS} keys.", "metadata_too_many_keys")
        for key in data:
            if not key or len(key) > METADATA_MAX_KEY_LENGTH:
                raise fail(
                    f"Keys must be 1 to {METADATA_MAX_KEY_LENGTH} characters.",
                    "metadata_key_too_long",
                )
        json_text_check(data)
        size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
        if size > METADATA_MAX_BYTES:
            raise fail(
                f"At most {METADATA_MAX_BYTES} bytes as JSON (got {size}).", "metadata_too_large"
            )
        return data

    def to_representation(self, value):
        return value


_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")  # fullmatch, after the separators are removed
_PHONE_SEPARATORS = re.compile(r"[ \-().]")
# The same rule for the schema: separators anywhere, then + and 7–15 digits.
PHONE_PATTERN = r"^[ \-().]*\+[ \-().]*[1-9](?:[ \-().]*[0-9]){6,14}[ \-().]*$"


@extend_schema_field({"type": "string", "pattern": PHONE_PATTERN, "maxLength": 32,
                      "description": "International format with country code, e.g. +1 415 555 0100."})
class PhoneNumberField(StringField):
    def to_internal_value(self, data):
        value = _PHONE_SEPARATORS.sub("", super().to_internal_value(data))
        if not _PHONE.fullmatch(value):
            raise fail(
                "Must be an international number with its country code, such as +14155550100.",
                "invalid_phone_number",
            )
        return value


@extend_schema_field(_one_case_enum(
    sorted(country_codes()), "ISO-3166 alpha-2 code, upper or lower case (US or us); answered upper case."))
class CountryField(StringField):
    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        value = text.upper()
        if text not in (value, value.lower()) or value not in country_codes():
            raise fail("Must be an ISO-3166 alpha-2 country code, such as US.", "invalid_country")
        return value


# 1–255 printable ASCII characters, no spaces (fullmatch: "$" would let a final newline in).
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"}


@extend_schema_field(IDEMPOTENCY_KEY_SCHEMA)
class IdempotencyKeyField(StringField):
    """Create checks the key (``IDEMPOTENCY_KEY``) in the view, before the body is validated;
    preview and update validate the same body, so the field holds them to the same rule."""

    error_codes = {"blank": "invalid_idempotency_key"}
    default_error_messages = {"blank": "1 to 255 printable ASCII characters without spaces."}

    def to_internal_value(self, data):
        if not (isinstance(data, str) and IDEMPOTENCY_KEY.fullmatch(data)):
            raise fail("1 to 255 printable ASCII characters without spaces.", "invalid_idempotency_key")
        return data


@extend_schema_field({"type": "string", "pattern": f"^{TRACE_ID_PATTERN.pattern}$"})
class TraceIdField(StringField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not TRACE_ID_PATTERN.fullmatch(value):
            raise fail("1 to 128 characters: letters, digits and . _ : -", "invalid_trace_id")
        return value


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know: a misspelt ``sucess_url`` is an error, not a no-op."""

    def get_fields(self):
        # DRF deep-copies every declared field for every instance; cloning is cheaper.
        return {name: field_clone(field) for name, field in self._declared_fields.items()}

    @cached_property
    def fields(self):
        """A root serializer without context and not partial validates with its class's
        frozen field tree, built once per thread (``checkout.api.field_tree``)."""
        if self.parent is not None or self._context or self.partial:
            return fields_build(self)
        return shared_fields(type(self))

    unknown = ("Unknown field.", "unknown_field")

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = [key for key in data if key not in self.fields]
            if unknown:
                raise ValidationError(
                    {key: [fail(*self.unknown).detail[0]] for key in unknown}
                )
        return super().to_internal_value(data)


class QuerySerializer(StrictSerializer):
    """A GET's query parameters: one it does not know is 422 ``unknown_parameter`` (a misspelt
    filter must not answer the unfiltered list)."""

    unknown = ("Unknown query parameter.", "unknown_parameter")


def query_validated(serializer_class, request) -> dict:
    """The request's query parameters validated by ``serializer_class``: ``name[]`` parameters
    as lists (``expand[]=customer&expand[]=invoice``), any other as its last value."""
    params = request.query_params
    data = {key: params.getlist(key) if key.endswith("[]") else params.get(key) for key in params}
    return dict(validated(serializer_class, data))


def _pair_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: [fail(message, code).detail[0]]})


# --- Create: input ---------------------------------------------------------------------------


class AttributionSerializer(StrictSerializer):
    utm_source = StringField(max_length=500, required=False, allow_blank=True)
    utm_medium = StringField(max_length=500, required=False, allow_blank=True)
    utm_campaign = StringField(max_length=500, required=False, allow_blank=True)
    utm_term = StringField(max_length=500, required=False, allow_blank=True)
    utm_content = StringField(max_length=500, required=False, allow_blank=True)
    referrer = StringField(max_length=URL_MAX, required=False, allow_blank=True)
    landing_page = StringField(max_length=URL_MAX, required=False, allow_blank=True)


class AddressSerializer(StrictSerializer):
    line1 = StringField(max_length=200, required=False, allow_blank=True)
    line2 = StringField(max_length=200, required=False, allow_blank=True)
    line3 = StringField(max_length=200, required=False, allow_blank=True)
    city = StringField(max_length=100, required=False, allow_blank=True)
    state = StringField(max_length=100, required=False, allow_blank=True)
    zip_code = StringField(max_length=20, required=False, allow_blank=True)
    country = CountryField(required=False, help_text="ISO-3166 alpha-2, e.g. US.")


class TaxIdSerializer(StrictSerializer):
    type = StringField(max_length=40, help_text="e.g. eu_vat, us_ein, gb_vat.")
    value = StringField(max_length=64, help_text="eu_vat, gb_vat, us_ein, ca_bn, au_abn, in_gst and ch_vat "
                                                  "are checked by format and check digits (offline).")

    def validate(self, attrs):
        check = tax_id_check(attrs["type"], attrs["value"])
        if check.problem:
            raise _pair_error("value", check.problem, "invalid_tax_id")
        attrs["value"] = check.value
        return attrs


class GuestCustomerSerializer(StrictSerializer):
    # Optional: a guest the merchant knows nothing about types their name on the page.
    customer_name = StringField(max_length=200, required=False,
                                help_text="Optional for a guest checkout: the page asks for it when absent.")
    email = EmailField(max_length=254, required=False, allow_null=True)
    phone_number = PhoneNumberField(max_length=32, required=False, allow_blank=True)
    external_id = StringField(max_length=200, required=False, allow_null=True)
    address = AddressSerializer(required=False, allow_null=True)
    ship_to_address = AddressSerializer(required=False, allow_null=True)
    tax_info = TaxIdSerializer(many=True, required=False, max_length=10)
    custom_data = JsonObjectField(required=False)


# Stripe's bound for a quantity the customer adjusts.
ADJUSTABLE_QUANTITY_MAX = 999


class AdjustableQuantitySerializer(StrictSerializer):
    """Stripe's ``adjustable_quantity``: the customer may set the line's quantity on the hosted
    page, within [minimum, maximum] (and the plan item's own bounds)."""

    enabled = BooleanField()
    minimum = IntegerField(min_value=0, max_value=ADJUSTABLE_QUANTITY_MAX, required=False, default=1,
                           help_text="Default 1; at least the plan item's minimum.")
    maximum = IntegerField(min_value=1, max_value=ADJUSTABLE_QUANTITY_MAX, required=False, default=99,
                           help_text="Default 99, at most 999; at most the plan item's maximum.")

    def validate(self, attrs):
        if attrs["maximum"] < attrs["minimum"]:
            raise _pair_error("maximum", "Must be at least minimum.", "adjustable_quantity_invalid")
        return attrs


class ProductOverrideSerializer(StrictSerializer):
    product_id = IdField()
    quantity = IntegerField(min_value=0, max_value=QUANTITY_MAX, required=False)
    is_enabled = BooleanField(required=False)
    adjustable_quantity = AdjustableQuantitySerializer(
        required=False,
        help_text="Plan-based new contracts, per-unit, tiered or volume lines: the customer may change the "
                  "quantity on the hosted page within these bounds; the initial quantity (quantity, else the "
                  "plan's default) must be inside them. Each change re-prices and re-locks the estimates.")
    optional = BooleanField(
        required=False,
        help_text="Plan-based new contracts: the customer may remove this add-on (an optional plan item) on the "
                  "hosted page and add it back; is_enabled says whether it starts included.")


class AmountField(StringField):
    """A decimal amount as a string (or an integer); JSON floats are refused, they cannot carry
    money exactly. The pricing engine checks the value itself."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, (bool, float)):
            raise fail('Amounts must be decimal strings, such as "12.50".', "invalid_amount")
        return super().to_internal_value(data)


class TierSerializer(StrictSerializer):
    up_to = IntegerField(
        min_value=1,
        max_value=10**12,
        required=False,
        allow_null=True,
        help_text="Last unit of the tier; null for the last, open-ended tier.",
    )
    unit_amount = AmountField()
    flat_amount = AmountField(required=False, allow_null=True)


class InlinePricingSerializer(StrictSerializer):
    """An inline (negotiated) pricing. Shape only: the pricing engine checks the terms."""

    pricing_model = ChoiceField(choices=["flat_fee", "per_unit", "tiered", "volume", "package"])
    billing = ChoiceField(choices=["recurring", "one_time"], required=False, default="recurring")
    cadence = StringField(
        max_length=8, required=False, allow_blank=True, help_text="P1M, P3M, P6M or P1Y."
    )
    timing = ChoiceField(choices=["in_advance", "in_arrears"], required=False, default="in_advance")
    unit_amount = AmountField(
        required=False, allow_null=True, help_text='Decimal string, e.g. "12.50".'
    )
    package_size = IntegerField(
        min_value=1, max_value=QUANTITY_MAX, required=False, allow_null=True
    )
    tiers = TierSerializer(
        many=True,
        required=False,
        max_length=50,
        help_text="Ascending; the last tier is open-ended (up_to: null).",
    )


class PhasePricingSerializer(StrictSerializer):
    product_id = IdField()
    pricing_id = IdField(required=False, allow_null=True, help_text="A catalogue pricing, or …")
    pricing = InlinePricingSerializer(
        required=False, allow_null=True, help_text="… an inline pricing."
    )
    quantity = IntegerField(min_value=0, max_value=QUANTITY_MAX, required=False, default=1)

    def validate(self, attrs):
        has_id, has_inline = attrs.get("pricing_id") is not None, attrs.get("pricing") is not None
        if has_id and has_inline:
            raise _pair_error(
                "pricing", "Give pricing_id or pricing, not both.", "pricing_conflict"
            )
        if not has_id and not has_inline:
            raise _pair_error(
                "pricing_id", "Give a catalogue pricing_id or an inline pricing.", "field_required"
            )
        return attrs


class PhaseSerializer(StrictSerializer):
    name = StringField(max_length=200, required=False, allow_blank=True)
    start_date = DateField(
        required=False, allow_null=True, help_text="Defaults to the contract's start date."
    )
    end_date = DateField(required=False, allow_null=True)
    pricings = PhasePricingSerializer(many=True, min_length=1, max_length=100)

    def validate(self, attrs):
        # A phase's own two dates (the contract's are the pricing engine's to check, once,
        # after the start date is known: given, or today).
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and end <= start:
            raise _pair_error("end_date", "Must be after start_date.", "end_date_before_start_date")
        return attrs


class ContractSerializer(StrictSerializer):
    is_plan_based = BooleanField()
    plan_id = IdField(required=False, allow_null=True)
    currency = CurrencyField()
    start_date = DateField()
    end_date = DateField(required=False, allow_null=True)
    phases = PhaseSerializer(many=True, required=False, min_length=1, max_length=10)

    def validate(self, attrs):
        if attrs["is_plan_based"]:
            if attrs.get("plan_id") is None:
                raise _pair_error(
                    "plan_id", "Required when is_plan_based is true.", "field_required"
                )
            if attrs.get("phases"):
                raise _pair_error(
                    "phases",
                    "Plan-based contracts take their items from the plan.",
                    "phases_not_allowed",
                )
            return attrs
        if attrs.get("plan_id") is not None:
            raise _pair_error(
                "plan_id", "Set is_plan_based to true to buy a plan.", "plan_id_not_allowed"
            )
        phases = attrs.get("phases")
        if not phases:
            raise _pair_error("phases", "Required when is_plan_based is false.", "field_required")
        self._check_phases(phases, attrs["start_date"], attrs.get("end_date"))
        return attrs

    @staticmethod
    def _check_phases(phases, start, end):
        """Phases run back to back from the contract's start; only the last may be open-ended."""
        expected_start = start
        for index, phase in enumerate(phases):
            phase_start = phase.get("start_date") or expected_start
            phase["start_date"] = phase_start
            if phase_start != expected_start:
                raise _pair_error(
                    f"phases.{index}.start_date",
                    f"Must be {expected_start.isoformat()}: phases run back to back from the contract's start.",
                    "phase_dates_incoherent",
                )
            phase_end = phase.get("end_date")
            last = index == len(phases) - 1
            if phase_end is None and not last:
                raise _pair_error(
                    f"phases.{index}.end_date",
                    "Only the last phase may be open-ended.",
                    "phase_dates_incoherent",
                )
            if phase_end is not None and end is not None and phase_end > end:
                raise _pair_error(
                    f"phases.{index}.end_date",
                    "Must not be after the contract's end_date.",
                    "phase_dates_incoherent",
                )
            if last and end is not None and phase_end is not None and phase_end != end:
                raise _pair_error(
                    f"phases.{index}.end_date",
                    "The last phase must end with the contract.",
                    "phase_dates_incoherent",
                )
            if last and end is None and phase_end is not None:
                raise _pair_error(
                    f"phases.{index}.end_date",
                    "The last phase of an evergreen contract must be open-ended.",
                    "phase_dates_incoherent",
                )
            expected_start = phase_end


class DiscountSerializer(StrictSerializer):
    coupon_id = IdField(required=False, help_text="A coupon of your organization (same mode as the key).")
    promotion_code = StringField(max_length=50, required=False,
                                 help_text="Or a promotion code, as a customer would type it.")

    def validate(self, attrs):
        if ("coupon_id" in attrs) == ("promotion_code" in attrs):
            raise _pair_error("coupon_id", "Give coupon_id or promotion_code.", "field_required")
        return attrs


class ConsentCollectionSerializer(StrictSerializer):
    terms_of_service = ChoiceField(
        choices=[("none", "none"), ("required", "required")], required=False, default="none",
        help_text="required: the customer must accept the business entity's terms_url to confirm.")


class RecoverySerializer(StrictSerializer):
    enabled = BooleanField(required=False, default=False)


class AfterExpirationSerializer(StrictSerializer):
    recovery = RecoverySerializer(
        required=False, help_text="enabled: on expiry the session gets a recovery_url (also in the "
                                  "checkout_session.expired event) opening a new session with the same terms, "
                                  "priced that day.")


class ClientReferenceIdField(StringField):
    """Your own reference for the checkout (a cart or order id): stored and shown back as it is,
    in the API and every event; null or "" clears it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Your reference for this checkout (a cart or order id), up to 500 "
                                       "characters; shown back as is. null clears it.")
        super().__init__(max_length=500, allow_blank=True, **kwargs)


class LocaleField(ChoiceField):
    error_codes = {"invalid_choice": "invalid_locale"}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The hosted page's language: auto (the default) follows the customer's "
                                       "browser (Accept-Language, else English); en, de, fr, es or ja fixes it.")
        super().__init__(choices=PageLocale.choices, **kwargs)


class PaymentMethodCollectionField(ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "When nothing is due today (a free trial, a 100 % discount, a later start): "
                                       "always (the default) collects a card and saves it for the renewals; "
                                       "if_required asks for one only when something is due now.")
        super().__init__(choices=PaymentMethodCollection.choices, **kwargs)


def _new_contract_plan_id(attrs) -> object | None:
    """The plan a plan-based new contract sells (``contract.plan_id``, else ``plan_id``); None
    for any other session: what the customer's choices on the page (plans, lines) go with."""
    if attrs["checkout_type"] != CheckoutType.NEW_CONTRACT:
        return None
    contract = attrs.get("contract")
    return contract.get("plan_id") if contract is not None else attrs.get("plan_id")


class CheckoutSessionCreateSerializer(StrictSerializer):
    contract = ContractSerializer(required=False, allow_null=True)
    plan_id = IdField(required=False, allow_null=True)
    contract_id = IdField(required=False, allow_null=True)
    customer_id = IdField(required=False, allow_null=True)
    guest_checkout = BooleanField(required=False, default=False)
    customer = GuestCustomerSerializer(required=False, allow_null=True)
    business_entity_id = IdField(required=False, allow_null=True)
    start_date = DateField(required=False, allow_null=True, help_text="Defaults to today (UTC).")
    end_date = DateField(required=False, allow_null=True, help_text="None: evergreen.")
    product_overrides = ProductOverrideSerializer(many=True, required=False, max_length=100)
    plan_choices = serializers.ListField(
        child=IdField(), required=False, allow_null=True, min_length=2, max_length=4,
        help_text="Plan-based new contracts: the plans (2–4, yours, active, in the plan's currency, each billing "
                  "on its own cadence, e.g. your monthly and yearly plan) the customer may switch between on the "
                  "hosted page (\"Billed monthly / Billed yearly\"); plan_id (or contract.plan_id) must be one of "
                  "them and is the one shown first. Each switch re-prices and re-locks the estimates.")
    product_quantities = ProductOverrideSerializer(
        many=True, required=False, max_length=100,
        help_text="Another name for product_overrides (seed 002's type-detection rule calls it so); give one "
                  "of the two. Sessions show it as product_overrides.")
    customer_email = EmailField(
        max_length=254, required=False, allow_null=True,
        help_text="Guest checkouts: prefills the customer's email on the hosted page (stored as customer.email; "
                  "refused beside a different customer.email, and with customer_id: an existing customer has "
                  "its own).")
    expires_at = DateTimeField(
        required=False, allow_null=True, help_text="Default: 24 hours; at most 30 days."
    )
    # Documented here; the view checks it (with the Idempotency-Key header) before validation.
    idempotency_key = IdempotencyKeyField(
        required=False, allow_null=True, help_text="Also accepted as the Idempotency-Key header."
    )
    trace_id = TraceIdField(
        required=False, allow_null=True, help_text="Also accepted as the X-Request-Id header."
    )
    currency = CurrencyField(required=False, allow_null=True)
    success_url = RedirectUrlField(required=False, help_text="May contain {CHECKOUT_SESSION_ID}.")
    cancel_url = RedirectUrlField(required=False)
    pending_url = RedirectUrlField(required=False)
    attribution = AttributionSerializer(required=False, allow_null=True)
    metadata = JsonObjectField(required=False, allow_null=True)
    client_reference_id = ClientReferenceIdField(required=False, allow_null=True)
    discounts = DiscountSerializer(
        many=True, required=False, max_length=1,
        help_text="At most one: a coupon or promotion code applied to the estimates. Not with "
                  "allow_promotion_codes.")
    allow_promotion_codes = BooleanField(
        required=False, default=False,
        help_text="The customer may enter a promotion code on the hosted page (re-priced at once).")
    trial_period_days = IntegerField(
        min_value=1, max_value=MAX_TRIAL_DAYS, required=False, allow_null=True,
        help_text="New contracts: a free trial of this many days from start_date (default: the plan's).")
    trial_end = DateField(required=False, allow_null=True,
                          help_text="New contracts: or the day the free trial ends (the first paid day).")
    consent_collection = ConsentCollectionSerializer(required=False, allow_null=True)
    after_expiration = AfterExpirationSerializer(required=False, allow_null=True)
    locale = LocaleField(required=False)
    payment_method_collection = PaymentMethodCollectionField(required=False)
    mode = ChoiceField(
        choices=[("payment", "payment"), ("setup", "setup")], required=False,
        help_text="setup: an existing customer (customer_id, optionally their contract_id) saves a new card as "
                  "their default on the hosted page, paying nothing (checkout_type setup). Default: payment.")

    def validate(self, attrs):
        self._aliases(attrs)
        attrs["checkout_type"] = self._checkout_type(attrs)
        self._check_customer_mode(attrs)
        self._check_dates(attrs)
        self._check_expiry(attrs)
        self._check_discounts_and_trial(attrs)
        self._check_plan_choices(attrs)
        self._check_adjustable(attrs)
        return attrs

    @staticmethod
    def _check_adjustable(attrs):
        """Lines the customer adjusts (``adjustable_quantity``, ``optional``) go with a plan-based
        new contract: its page sells the plan's items. The lines' pricing and bounds are the
        service's to check (they need the plan)."""
        plan_based = _new_contract_plan_id(attrs) is not None
        for index, override in enumerate(attrs.get("product_overrides") or ()):
            for name in ("adjustable_quantity", "optional"):
                if override.get(name) and not plan_based:
                    raise _pair_error(f"product_overrides.{index}.{name}",
                                      "The customer adjusts the lines of a plan-based new contract only.",
                                      "field_not_allowed")
            adjustable = override.get("adjustable_quantity")
            if adjustable and adjustable["enabled"] and override.get("is_enabled") is False:
                raise _pair_error(f"product_overrides.{index}.adjustable_quantity",
                                  "A line left out (is_enabled: false) has no quantity to adjust.",
                                  "conflicting_fields")

    @staticmethod
    def _check_plan_choices(attrs):
        """Choices go with a plan-based new contract and include its plan, once each."""
        choices = attrs.get("plan_choices")
        if not choices:
            attrs.pop("plan_choices", None)
            return
        plan_id = _new_contract_plan_id(attrs)
        if plan_id is None:
            raise _pair_error("plan_choices", "Plan choices go with a plan-based new contract (plan_id).",
                              "field_not_allowed")
        seen = set()
        for index, choice in enumerate(choices):
            if choice in seen:
                raise _pair_error(f"plan_choices.{index}", "Each plan is offered once.", "duplicate_plan_choice")
            seen.add(choice)
        if plan_id not in seen:
            raise _pair_error("plan_choices", "Must include the session's plan (plan_id).", "plan_not_in_choices")

    @staticmethod
    def _check_discounts_and_trial(attrs):
        if attrs.get("discounts") and attrs.get("allow_promotion_codes"):
            raise _pair_error("allow_promotion_codes", "Give discounts or allow_promotion_codes, not both.",
                              "discounts_conflict")
        if attrs.get("trial_period_days") is not None and attrs.get("trial_end") is not None:
            raise _pair_error("trial_end", "Give trial_period_days or trial_end, not both.", "conflicting_fields")
        if attrs["checkout_type"] != CheckoutType.NEW_CONTRACT:
            for name in ("trial_period_days", "trial_end"):
                if attrs.get(name) is not None:
                    raise _pair_error(name, "A free trial starts new contracts only.", "trial_not_allowed")

    def _checkout_type(self, attrs) -> str:
        if attrs.get("mode") == "setup":
            return self._setup_type(attrs)
        contract = attrs.get("contract")
        contract_id, plan_id = attrs.get("contract_id"), attrs.get("plan_id")
        overrides = attrs.get("product_overrides")
        if contract is not None:
            if contract_id is not None:
                raise _pair_error(
                    "contract_id",
                    "Give contract (a new contract) or contract_id (an amendment), not both.",
                    "ambiguous_checkout_type",
                )
            if plan_id is not None:
                raise _pair_error(
                    "plan_id",
                    "With a contract object, put plan_id inside contract.",
                    "ambiguous_checkout_type",
                )
            if not contract["is_plan_based"] and overrides:
                raise _pair_error(
                    "product_overrides",
                    "A product-based contract sets quantities in its phases.",
                    "product_overrides_not_allowed",
                )
            return CheckoutType.NEW_CONTRACT
        if contract_id is not None:
            if plan_id is not None:
                return CheckoutType.PLAN_SWITCH
            if not overrides:
                raise _pair_error(
                    "product_overrides",
                    "Give plan_id (plan switch) or product_overrides "
                    "(quantity update) with contract_id.",
                    "field_required",
                )
            return CheckoutType.QUANTITY_UPDATE
        if plan_id is not None:
            return CheckoutType.NEW_CONTRACT
        raise _pair_error(
            "plan_id",
            "Give contract or plan_id for a new contract, or contract_id for an amendment.",
            "checkout_type_undetermined",
        )

    @staticmethod
    def _aliases(attrs):
        """Seed 002's ``product_quantities`` is ``product_overrides``; ``customer_email`` is the
        guest's ``customer.email``."""
        if "product_quantities" in attrs:
            quantities = attrs.pop("product_quantities")
            if "product_overrides" in attrs:
                raise _pair_error("product_quantities", "Another name for product_overrides: give one of the two.",
                                  "conflicting_fields")
            attrs["product_overrides"] = quantities
        email = attrs.pop("customer_email", None)
        if email is None:
            return
        if not attrs.get("guest_checkout"):
            raise _pair_error("customer_email", "Prefills a guest checkout's email; an existing customer (customer_id) "
                                                "has its own.", "field_not_allowed")
        customer = attrs.get("customer") or {}
        given = customer.get("email")
        if given is not None and given.lower() != email.lower():
            raise _pair_error("customer_email", "Differs from customer.email; give it once.", "conflicting_fields")
        attrs["customer"] = {**customer, "email": given or email}

    @staticmethod
    def _setup_type(attrs) -> str:
        """A setup session names a customer (and maybe their contract); nothing is sold."""
        for name in ("contract", "plan_id", "plan_choices", "product_overrides", "discounts", "trial_period_days",
                     "trial_end", "end_date"):
            if attrs.get(name):
                raise _pair_error(name, "A setup session sells nothing; leave it out.", "setup_mode_conflict")
        if attrs.get("allow_promotion_codes"):
            raise _pair_error("allow_promotion_codes", "A setup session sells nothing; leave it out.",
                              "setup_mode_conflict")
        if attrs.get("guest_checkout") or attrs.get("customer_id") is None:
            raise _pair_error("customer_id", "A setup session saves a card for an existing customer.",
                              "field_required")
        return CheckoutType.SETUP

    @staticmethod
    def _check_customer_mode(attrs):
        if attrs.get("guest_checkout"):
            if attrs.get("customer_id") is not None:
                raise _pair_error(
                    "customer_id",
                    "A guest checkout has no customer_id; the customer is created "
                    "when the session is confirmed.",
                    "guest_checkout_conflict",
                )
            if attrs.get("contract_id") is not None:
                raise _pair_error(
                    "guest_checkout",
                    "Amending a contract needs its existing customer.",
                    "guest_checkout_not_allowed",
                )
            if attrs.get("business_entity_id") is None:
                raise _pair_error(
                    "business_entity_id", "Required for a guest checkout.", "field_required"
                )
        elif (
            attrs["checkout_type"] == CheckoutType.NEW_CONTRACT and attrs.get("customer_id") is None
        ):
            raise _pair_error(
                "customer_id", "Required unless guest_checkout is true.", "field_required"
            )
        elif attrs.get("customer") is not None:
            # Seed 000 lets these override an existing customer's details; we would store and
            # show them yet confirm with the customer's own record, so they are refused instead.
            raise _pair_error(
                "customer", "Customer details go with guest_checkout; an existing customer's (customer_id) are "
                            "its own record's.", "field_not_allowed"
            )

    @staticmethod
    def _check_dates(attrs):
        contract = attrs.get("contract")
        if contract is not None:
            for name in ("start_date", "end_date"):
                if attrs.get(name) is not None and attrs[name] != contract.get(name):
                    raise _pair_error(
                        name, f"Differs from contract.{name}; give it once.", "conflicting_fields"
                    )
            if attrs.get("currency") is not None and attrs["currency"] != contract["currency"]:
                raise _pair_error("currency", "Must equal contract.currency.", "currency_mismatch")
            return

    @staticmethod
    def _check_expiry(attrs):
        expires_at = attrs.get("expires_at")
        if expires_at is None:
            return
        now = timezone.now()
        if expires_at <= now:
            raise _pair_error("expires_at", "Must be in the future.", "expires_at_in_past")
        if expires_at > now + datetime.timedelta(days=settings.CHECKOUT_SESSION_MAX_TTL_DAYS):
            raise _pair_error(
                "expires_at",
                f"Must be at most {settings.CHECKOUT_SESSION_MAX_TTL_DAYS} days ahead.",
                "expires_at_too_far",
            )


# --- Cancel / list: input --------------------------------------------------------------------


class CheckoutSessionCancelSerializer(StrictSerializer):
    # An unknown reason is its own rule.
    reason = ChoiceField(
        choices=CancellationReason.choices,
        required=False,
        default=CancellationReason.REQUESTED_BY_CUSTOMER,
        error_codes={"invalid_choice": "invalid_cancellation_reason"},
        help_text="Defaults to requested_by_customer.",
    )
    detail = StringField(
        max_length=500, required=False, allow_blank=True, help_text="Free text for your records."
    )


class ConfirmMode:
    CHARGE_NOW = "charge_now"
    INVOICE = "invoice"
    NO_PAYMENT = "no_payment"
    CHOICES = (CHARGE_NOW, INVOICE, NO_PAYMENT)


class CheckoutSessionConfirmSerializer(StrictSerializer):
    mode = ChoiceField(
        choices=[(m, m) for m in ConfirmMode.CHOICES],
        help_text="charge_now: pay now with payment_method_id; invoice: the customer is invoiced (where the "
                  "business entity allows it); no_payment: only for a session with nothing due.",
    )
    terms_accepted = BooleanField(
        required=False, default=False,
        help_text="For sessions with consent_collection.terms_of_service required: the customer accepted the "
                  "terms (you collected it).")
    payment_method_id = StringField(
        max_length=255, required=False,
        help_text="charge_now: a Stripe payment method (pm_…) in Stripe mode; with the test provider "
                  "pm_test_succeeds, pm_test_declined or pm_test_settles_later.",
    )


class CheckoutSessionUpdateSerializer(StrictSerializer):
    """PATCH: the fields an open session's terms may change in (shapes only; the merged
    request is validated again as a create)."""

    customer = GuestCustomerSerializer(required=False, help_text="Guest sessions only.")
    start_date = DateField(required=False)
    end_date = DateField(required=False, allow_null=True)
    product_overrides = ProductOverrideSerializer(many=True, required=False, max_length=100)
    expires_at = DateTimeField(required=False)
    success_url = RedirectUrlField(required=False)
    cancel_url = RedirectUrlField(required=False)
    pending_url = RedirectUrlField(required=False)
    metadata = JsonObjectField(required=False)
    client_reference_id = ClientReferenceIdField(required=False, allow_null=True)
    locale = LocaleField(required=False)
    payment_method_collection = PaymentMethodCollectionField(required=False)


def checkout_session_request_patched(session, patch: dict) -> dict:
    """The create request of the session's terms with a validated PATCH's raw fields applied.
    A contract-object session's dates live in its contract."""
    body = SessionTerms.of_session(session).request()
    for name, value in patch.items():
        if name in ("start_date", "end_date") and "contract" in body:
            body["contract"][name] = value
        elif name == "customer" and not session.guest_checkout:
            raise _pair_error("customer", "Customer details can be changed on guest sessions only.",
                              "field_not_allowed")
        else:
            body[name] = value
    return body


class EmptyBodySerializer(StrictSerializer):
    """Operations that take no fields: an empty object (or no body); any field is unknown_field."""


class PageQuerySerializer(QuerySerializer):
    """Where a list's page starts (``core.pagination``): at most one of these three."""

    limit = QueryIntegerField(min_value=1, max_value=100, required=False, default=20)
    cursor = StringField(
        max_length=200, required=False, help_text="next_cursor of the previous page."
    )
    starting_after = IdField(required=False, help_text="An object's id: the page of objects listed after it "
                                                       "(older). Page on with the last id of each page.")
    ending_before = IdField(required=False, help_text="An object's id: the page of objects listed before it "
                                                      "(newer), for paging back; `has_more` then says whether "
                                                      "newer ones remain. Page back with the first id of each page.")


def _expand_field():
    return serializers.ListField(
        child=ChoiceField(choices=EXPANDABLE), required=False, max_length=len(EXPANDABLE),
        help_text="Objects to include under `expanded`, as the API shows them: `customer` (the session's customer; "
                  "a guest's once confirmed), `contract` (once completed, or the amended one), `invoice` (the "
                  "session's first invoice, once completed). Each is null until it exists. Repeat the parameter: "
                  "`expand[]=customer&expand[]=invoice`.")


# ``expand[]`` is not a Python name: the field is declared through the class namespace.
CheckoutSessionRetrieveQuerySerializer = type("CheckoutSessionRetrieveQuerySerializer", (QuerySerializer,), {
    "__module__": __name__, "__doc__": "A session read's query: what to expand.", "expand[]": _expand_field()})


class CheckoutSessionListQuerySerializer(PageQuerySerializer, CheckoutSessionRetrieveQuerySerializer):
    status = ChoiceField(choices=SessionStatus.choices, required=False)
    customer_id = IdField(required=False)
    checkout_type = ChoiceField(choices=CheckoutType.choices, required=False)
    created_gte = DateTimeField(required=False, help_text="Created at or after.")
    created_gt = DateTimeField(required=False, help_text="Created after.")
    created_lte = DateTimeField(required=False, help_text="Created at or before.")
    created_lt = DateTimeField(required=False, help_text="Created before.")


# --- Output ----------------------------------------------------------------------------------


class ProrationDetailSerializer(serializers.Serializer):
    days = serializers.IntegerField(help_text="Days billed.")
    period_days = serializers.IntegerField(help_text="Days in the full period.")
    full_period_amount = serializers.CharField(
        help_text="What a full period costs (decimal string)."
    )


class TierChargeSerializer(serializers.Serializer):
    first_unit = serializers.IntegerField()
    last_unit = serializers.IntegerField()
    quantity = serializers.IntegerField()
    unit_amount = serializers.CharField()
    flat_amount = serializers.CharField()
    amount = serializers.CharField()


class DiscountTermsSerializer(serializers.Serializer):
    name = serializers.CharField()
    duration = serializers.ChoiceField(choices=["once", "repeating", "forever"],
                                       help_text="Invoices counted from the first that bills anything.")
    duration_in_periods = serializers.IntegerField(allow_null=True, help_text="repeating: how many invoices.")
    percent_off = serializers.CharField(allow_null=True)
    amount_off = serializers.CharField(allow_null=True, help_text="In the session's currency.")
    coupon_id = serializers.UUIDField()
    promotion_code = serializers.CharField(allow_null=True)


class AppliedDiscountSerializer(DiscountTermsSerializer):
    promotion_code_id = serializers.UUIDField(allow_null=True)


class InvoiceLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["one_time", "charge", "usage", "credit", "trial", "discount"],
        help_text="credit: the unused part of a prepaid period (negative amount); trial: an item "
                  "free during a trial (zero); discount: a coupon's reduction (negative, no product).",
    )
    product_id = serializers.UUIDField(allow_null=True)
    name = serializers.CharField()
    description = serializers.CharField(
        allow_blank=True, help_text="How the amount was computed, for people."
    )
    pricing_model = serializers.ChoiceField(
        choices=["flat_fee", "per_unit", "tiered", "volume", "package"], allow_null=True
    )
    quantity = serializers.IntegerField()
    unit_amount = serializers.CharField(
        allow_null=True, help_text="Decimal string; null for graduated tiers."
    )
    amount = serializers.CharField(
        help_text="Decimal string in the currency's minor units (JPY 0, USD 2, KWD 3)."
    )
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text="Exclusive: the first day after the period.")
    proration = serializers.BooleanField()
    cadence = serializers.CharField(
        allow_null=True, help_text="P1M, P3M, P1Y…; null for one-time items."
    )
    proration_detail = ProrationDetailSerializer(allow_null=True)
    tiers = TierChargeSerializer(
        many=True, allow_null=True, help_text="Per-tier breakdown (tiered/volume)."
    )
    discount = DiscountTermsSerializer(required=False, help_text="Discount lines only: the coupon's terms.")


class InvoiceEstimateSerializer(serializers.Serializer):
    currency = serializers.CharField()
    invoice_date = serializers.DateField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    line_items = InvoiceLineSerializer(many=True)
    subtotal = serializers.CharField()
    tax_rate = serializers.CharField(
        allow_null=True, help_text='Percent, e.g. "8.25"; null: no tax.'
    )
    tax = serializers.CharField()
    total = serializers.CharField(
        help_text="subtotal + tax; negative when an amendment credits more than it charges."
    )
    credit_applied = serializers.CharField()
    amount_due = serializers.CharField()
    credit_carried_forward = serializers.CharField()


class EstimatesSerializer(serializers.Serializer):
    current_invoice = InvoiceEstimateSerializer()
    next_invoice = InvoiceEstimateSerializer(allow_null=True)


# Schema only: ``expand[]``'s objects, built by ``customers.representation.customer_json`` and
# ``billing.representation``'s ``contract_json`` / ``invoice_json``. Keep them in step.
class AddressOutSerializer(serializers.Serializer):
    line1 = serializers.CharField(required=False)
    line2 = serializers.CharField(required=False, allow_null=True)
    line3 = serializers.CharField(required=False, allow_null=True)
    city = serializers.CharField(required=False, allow_null=True)
    state = serializers.CharField(required=False, allow_null=True)
    zip_code = serializers.CharField(required=False, allow_null=True)
    country = serializers.CharField(required=False, allow_null=True)


class TaxIdOutSerializer(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.CharField()


class ExpandedCustomerSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.ChoiceField(choices=["customer"])
    organization_id = serializers.UUIDField()
    business_entity_id = serializers.UUIDField(allow_null=True)
    customer_name = serializers.CharField()
    email = serializers.CharField(allow_null=True)
    phone_number = serializers.CharField(allow_blank=True)
    external_id = serializers.CharField(allow_null=True)
    address = AddressOutSerializer(allow_null=True)
    ship_to_address = AddressOutSerializer(allow_null=True)
    tax_info = TaxIdOutSerializer(many=True)
    custom_data = serializers.DictField()
    created_at = serializers.DateTimeField()


class ExpandedContractSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.ChoiceField(choices=["contract"])
    organization_id = serializers.UUIDField()
    livemode = serializers.BooleanField()
    customer_id = serializers.UUIDField()
    business_entity_id = serializers.UUIDField()
    plan_id = serializers.UUIDField(allow_null=True)
    status = serializers.CharField()
    currency = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    trial_end = serializers.DateField(allow_null=True)
    next_billing_date = serializers.DateField(allow_null=True)
    collection_method = serializers.CharField()
    default_payment_method_id = serializers.UUIDField(allow_null=True)
    test_clock_id = serializers.UUIDField(allow_null=True)
    credit_balance = serializers.CharField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancellation_reason = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+\\.[0-9]+$"}]})
class InvoiceQuantityField(serializers.Field):
    pass


class ExpandedInvoiceLineSerializer(serializers.Serializer):
    product_id = serializers.UUIDField(allow_null=True)
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    pricing_model = serializers.CharField(allow_null=True)
    quantity = InvoiceQuantityField(help_text="A whole number of units, or a decimal string for metered usage "
                                              "with a fraction.")
    unit_amount = serializers.CharField(allow_null=True)
    amount = serializers.CharField()
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    proration = serializers.BooleanField()


class ExpandedInvoiceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.ChoiceField(choices=["invoice"])
    organization_id = serializers.UUIDField()
    livemode = serializers.BooleanField()
    contract_id = serializers.UUIDField()
    customer_id = serializers.UUIDField()
    checkout_session_id = serializers.UUIDField(allow_null=True)
    billing_reason = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    invoice_date = serializers.DateField(allow_null=True)
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    line_items = ExpandedInvoiceLineSerializer(many=True)
    subtotal = serializers.CharField()
    tax = serializers.CharField()
    total = serializers.CharField()
    credit_applied = serializers.CharField()
    amount_due = serializers.CharField()
    attempt_count = serializers.IntegerField()
    next_payment_attempt = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ExpandedSerializer(serializers.Serializer):
    customer = ExpandedCustomerSerializer(required=False, allow_null=True)
    contract = ExpandedContractSerializer(required=False, allow_null=True)
    invoice = ExpandedInvoiceSerializer(required=False, allow_null=True)


class SetupPaymentMethodSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The saved payment method (the customer's new default).")
    provider_reference = serializers.CharField(help_text="The provider's id of the card (Stripe: a PaymentMethod).")
    brand = serializers.CharField(allow_null=True)
    last4 = serializers.CharField(allow_null=True)
    exp_month = serializers.IntegerField(allow_null=True)
    exp_year = serializers.IntegerField(allow_null=True)


class SetupSerializer(serializers.Serializer):
    payment_method = SetupPaymentMethodSerializer(
        allow_null=True, help_text="The card the customer saved; null until the session is completed.")


# Schema only: responses are built by ``checkout.representation.checkout_session_json`` (DRF's field-by-field
# rendering would be the slowest part of a create). Keep the two in step.
class CheckoutSessionSerializer(serializers.Serializer):
    """The session as the API shows it."""

    id = serializers.UUIDField()
    object = serializers.CharField(default="checkout_session")
    organization_id = serializers.UUIDField()
    livemode = serializers.BooleanField()
    checkout_type = serializers.ChoiceField(choices=CheckoutType.choices)
    status = serializers.ChoiceField(choices=SessionStatus.choices)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices)
    url = serializers.URLField(help_text="The hosted checkout page. Send the customer here.")
    plan_id = serializers.UUIDField(allow_null=True)
    contract_id = serializers.UUIDField(
        allow_null=True,
        help_text="For amendments: set at creation; for new contracts: on completion.",
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    customer_id = serializers.UUIDField(allow_null=True)
    business_entity_id = serializers.UUIDField()
    guest_checkout = serializers.BooleanField()
    customer = GuestCustomerSerializer(
        allow_null=True, help_text="Customer details given for a guest checkout."
    )
    currency = serializers.CharField()
    contract = ContractSerializer(
        allow_null=True, help_text="The contract object the session was created with."
    )
    product_overrides = ProductOverrideSerializer(many=True)
    plan_choices = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="The plans the customer may switch between on the hosted page (empty: no choice); plan_id is "
                  "the one chosen now.")
    success_url = serializers.CharField(allow_null=True)
    cancel_url = serializers.CharField(allow_null=True)
    pending_url = serializers.CharField(allow_null=True)
    attribution = AttributionSerializer(allow_null=True)
    metadata = JsonObjectField()
    client_reference_id = serializers.CharField(allow_null=True, help_text="Your own reference, as you gave it.")
    trace_id = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    expired_at = serializers.DateTimeField(allow_null=True)
    cancellation_reason = serializers.ChoiceField(
        choices=CancellationReason.choices, allow_null=True
    )
    cancellation_detail = serializers.CharField(allow_null=True)
    allow_promotion_codes = serializers.BooleanField(
        help_text="The customer may enter a promotion code on the hosted page.")
    discount = AppliedDiscountSerializer(allow_null=True, help_text="The discount the estimates apply.")
    trial_end = serializers.DateField(
        allow_null=True, help_text="New contracts with a free trial: its end, the first paid day.")
    consent_collection = ConsentCollectionSerializer()
    terms_of_service_url = serializers.CharField(
        allow_null=True, help_text="The terms the customer must accept (the business entity's, at creation).")
    terms_accepted_at = serializers.DateTimeField(allow_null=True)
    after_expiration = AfterExpirationSerializer()
    recovery_url = serializers.CharField(
        allow_null=True, help_text="Set when a session with recovery enabled expires: send the customer here to "
                                   "start again with the same terms, priced that day.")
    recovered_from = serializers.UUIDField(allow_null=True, help_text="The expired session this one recovers.")
    setup = SetupSerializer(allow_null=True, help_text="Setup sessions (checkout_type setup): the card saved. "
                                                       "Null for the other kinds.")
    locale = serializers.ChoiceField(
        choices=PageLocale.choices,
        help_text="The hosted page's language: auto follows the customer's browser (Accept-Language).")
    payment_method_collection = serializers.ChoiceField(
        choices=PaymentMethodCollection.choices,
        help_text="Whether a card is collected, and saved for the renewals, when nothing is due today.")
    amount_subtotal = serializers.CharField(
        allow_null=True, help_text="The current invoice before discounts and tax (decimal string, the currency's "
                                   "minor units); null while unpriced. The same for the four below.")
    amount_discount = serializers.CharField(allow_null=True, help_text="What the discount takes off (positive).")
    amount_tax = serializers.CharField(allow_null=True)
    amount_total = serializers.CharField(allow_null=True, help_text="amount_subtotal − amount_discount + amount_tax.")
    amount_due = serializers.CharField(allow_null=True, help_text="amount_total after credit: what confirming "
                                                                  "charges today.")
    estimates = EstimatesSerializer(allow_null=True)
    expanded = ExpandedSerializer(
        required=False, help_text="Only with `expand[]`: the objects asked for, each null until it exists.")


class CheckoutSessionPreviewSerializer(serializers.Serializer):
    """Schema only: ``checkout_session_preview_json`` builds the body."""

    object = serializers.CharField(default="checkout_session_preview")
    organization_id = serializers.UUIDField()
    livemode = serializers.BooleanField()
    checkout_type = serializers.ChoiceField(choices=CheckoutType.choices)
    plan_id = serializers.UUIDField(allow_null=True)
    contract_id = serializers.UUIDField(allow_null=True)
    customer_id = serializers.UUIDField(allow_null=True)
    business_entity_id = serializers.UUIDField()
    currency = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    product_overrides = serializers.ListField(child=serializers.DictField())
    estimates = EstimatesSerializer()


class CheckoutSessionListSerializer(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = CheckoutSessionSerializer(many=True)
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as cursor to get the next page."
    )


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, snake_case: branch on this.")
    message = serializers.CharField(help_text="For people; may change.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Offending input paths → messages, e.g. {"product_overrides.1.quantity": ["…"]}.',
    )
    trace_id = serializers.CharField(help_text="Quote it when asking for support.")


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


__all__ = [
    "CheckoutSessionCancelSerializer",
    "CheckoutSessionCreateSerializer",
    "CheckoutSessionListQuerySerializer",
    "CheckoutSessionListSerializer",
    "CheckoutSessionSerializer",
    "ErrorEnvelopeSerializer",
]


def validated(serializer_class, data) -> dict:
    """``data`` as ``serializer_class`` validated it; its errors become the envelope in
    ``core.errors.api_exception_handler``."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
