"""One test per validation rule of POST /api/v1/checkout-sessions: status, code, field path,
and that nothing was created."""

import datetime
import uuid

import pytest
from django.utils import timezone

from billing.enums import ContractStatus, PlanStatus
from checkout.models import CheckoutSession, IdempotencyRecord
from core.services import api_key_create
from tests.checkout.api.conftest import CHANGE, START, URLS, error_of, plan_body
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _contract(m, **fields):
    body = plan_body(m)
    body["contract"].update(fields)
    return body


def _top_level(m, **extra):
    return {
        "plan_id": str(m.plan.id),
        "customer_id": str(m.customer.id),
        "start_date": START.isoformat(),
        **URLS,
        **extra,
    }


def _product_based(m, pricings=None, **contract):
    pricings = (
        pricings
        if pricings is not None
        else [
            {"product_id": str(m.seats.id), "pricing_id": str(m.seats_pricing.id), "quantity": 2},
            {
                "product_id": str(m.storage.id),
                "quantity": 12,
                "pricing": {
                    "pricing_model": "tiered",
                    "billing": "recurring",
                    "cadence": "P1M",
                    "timing": "in_advance",
                    "tiers": [
                        {"up_to": 10, "unit_amount": "5.00", "flat_amount": "0"},
                        {"up_to": None, "unit_amount": "4.00"},
                    ],
                },
            },
        ]
    )
    spec = {
        "is_plan_based": False,
        "currency": "USD",
        "start_date": START.isoformat(),
        "end_date": None,
        "phases": [{"name": "Main", "pricings": pricings}],
    }
    spec.update(contract)
    return {"contract": spec, "customer_id": str(m.customer.id), **URLS}


def _inline(m, **pricing):
    base = {
        "pricing_model": "per_unit",
        "billing": "recurring",
        "cadence": "P1M",
        "unit_amount": "5.00",
    }
    base.update(pricing)
    return _product_based(
        m, pricings=[{"product_id": str(m.storage.id), "quantity": 3, "pricing": base}]
    )


def _switch(m, **extra):
    return {
        "contract_id": str(m.contract.id),
        "plan_id": str(m.plan_pro.id),
        "start_date": CHANGE.isoformat(),
        **URLS,
        **extra,
    }


def _update(m, **extra):
    body = {
        "contract_id": str(m.contract.id),
        "start_date": CHANGE.isoformat(),
        "product_overrides": [{"product_id": str(m.seats.id), "quantity": 5}],
        **URLS,
    }
    body.update(extra)
    return body


def _guest(m, **extra):
    body = {
        "plan_id": str(m.plan.id),
        "guest_checkout": True,
        "business_entity_id": str(m.entity.id),
        "customer": {"customer_name": "Ada Lovelace", "email": "ada@example.com"},
        **URLS,
    }
    body.update(extra)
    return body


def _guest_customer(m, **customer):
    body = _guest(m)
    body["customer"].update(customer)
    return body


def _archive_plan(m):
    m.plan.status = PlanStatus.ARCHIVED
    m.plan.save()
    return plan_body(m)


def _draft_plan(m):
    m.plan.status = PlanStatus.DRAFT
    m.plan.save()
    return _top_level(m)


def _end_contract(m):
    m.contract.status = ContractStatus.ENDED
    m.contract.save()
    return _update(m)


def _soon(**delta):
    return (timezone.now() + datetime.timedelta(**delta)).isoformat()


RANDOM = "6f0e3a52-1c4d-4b8e-9a7f-2d5c8b1e0f93"

# (id, build(m) -> body, status, code, field)
CASES = [
    # currency
    (
        "currency_not_iso",
        lambda m: _contract(m, currency="ZZZ"),
        422,
        "invalid_currency",
        "contract.currency",
    ),
    (
        "currency_top_level_not_iso",
        lambda m: _top_level(m, currency="XQX"),
        422,
        "invalid_currency",
        "currency",
    ),
    (
        "currency_differs_from_contract",
        lambda m: plan_body(m, currency="EUR"),
        422,
        "currency_mismatch",
        "currency",
    ),
    (
        "currency_differs_from_plan",
        lambda m: _contract(m, currency="EUR"),
        422,
        "currency_mismatch",
        "contract.currency",
    ),
    (
        "currency_top_level_differs_from_plan",
        lambda m: _top_level(m, currency="EUR"),
        422,
        "currency_mismatch",
        "currency",
    ),
    (
        "currency_plan_switch_plan_in_other_currency",
        lambda m: _switch(m, plan_id=str(m.plan_eur.id)),
        422,
        "currency_mismatch",
        "plan_id",
    ),
    (
        "currency_amendment_differs_from_contract",
        lambda m: _update(m, currency="EUR"),
        422,
        "currency_mismatch",
        "currency",
    ),
    (
        "currency_catalogue_pricing_differs",
        lambda m: _product_based(m, currency="EUR"),
        422,
        "currency_mismatch",
        "contract.phases.0.pricings.0.pricing_id",
    ),
    # URLs
    (
        "url_relative",
        lambda m: plan_body(m, success_url="/thanks"),
        422,
        "invalid_url",
        "success_url",
    ),
    (
        "url_without_host",
        lambda m: plan_body(m, success_url="https://"),
        422,
        "invalid_url",
        "success_url",
    ),
    (
        "url_bad_host",
        lambda m: plan_body(m, pending_url="https://exa mple.com/"),
        422,
        "invalid_url",
        "pending_url",
    ),
    ("url_empty", lambda m: plan_body(m, cancel_url=""), 422, "invalid_url", "cancel_url"),
    (
        "url_javascript",
        lambda m: plan_body(m, cancel_url="javascript:alert(1)"),
        422,
        "url_scheme_not_allowed",
        "cancel_url",
    ),
    (
        "url_data",
        lambda m: plan_body(m, success_url="data:text/html,<b>hi</b>"),
        422,
        "url_scheme_not_allowed",
        "success_url",
    ),
    (
        "url_ftp",
        lambda m: plan_body(m, pending_url="ftp://merchant.example/x"),
        422,
        "url_scheme_not_allowed",
        "pending_url",
    ),
    (
        "url_userinfo",
        lambda m: plan_body(m, success_url="https://user:pw@merchant.example/"),
        422,
        "url_userinfo_not_allowed",
        "success_url",
    ),
    (
        "url_too_long",
        lambda m: plan_body(m, success_url="https://merchant.example/" + "a" * 2060),
        422,
        "url_too_long",
        "success_url",
    ),
    # ids: shape, then existence in the caller's organization
    (
        "id_not_uuid",
        lambda m: plan_body(m, customer_id="cus_123"),
        422,
        "invalid_id",
        "customer_id",
    ),
    (
        "id_not_uuid_nested",
        lambda m: plan_body(m, product_overrides=[{"product_id": "seats"}]),
        422,
        "invalid_id",
        "product_overrides.0.product_id",
    ),
    (
        "customer_unknown",
        lambda m: plan_body(m, customer_id=RANDOM),
        404,
        "customer_not_found",
        "customer_id",
    ),
    (
        "plan_unknown",
        lambda m: _contract(m, plan_id=RANDOM),
        404,
        "plan_not_found",
        "contract.plan_id",
    ),
    (
        "plan_unknown_top_level",
        lambda m: _top_level(m, plan_id=RANDOM),
        404,
        "plan_not_found",
        "plan_id",
    ),
    (
        "contract_unknown",
        lambda m: _update(m, contract_id=RANDOM),
        404,
        "contract_not_found",
        "contract_id",
    ),
    (
        "business_entity_unknown",
        lambda m: _guest(m, business_entity_id=RANDOM),
        404,
        "business_entity_not_found",
        "business_entity_id",
    ),
    (
        "product_unknown",
        lambda m: _product_based(
            m,
            pricings=[
                {
                    "product_id": RANDOM,
                    "quantity": 1,
                    "pricing": {
                        "pricing_model": "flat_fee",
                        "cadence": "P1M",
                        "unit_amount": "1.00",
                    },
                }
            ],
        ),
        404,
        "product_not_found",
        "contract.phases.0.pricings.0.product_id",
    ),
    (
        "pricing_unknown",
        lambda m: _product_based(
            m, pricings=[{"product_id": str(m.seats.id), "pricing_id": RANDOM, "quantity": 1}]
        ),
        404,
        "pricing_not_found",
        "contract.phases.0.pricings.0.pricing_id",
    ),
    (
        "pricing_of_other_product",
        lambda m: _product_based(
            m,
            pricings=[
                {
                    "product_id": str(m.storage.id),
                    "pricing_id": str(m.seats_pricing.id),
                    "quantity": 1,
                }
            ],
        ),
        422,
        "pricing_product_mismatch",
        "contract.phases.0.pricings.0.pricing_id",
    ),
    # plan, contract, customer
    ("plan_archived", _archive_plan, 422, "plan_not_active", "contract.plan_id"),
    ("plan_draft", _draft_plan, 422, "plan_not_active", "plan_id"),
    (
        "plan_switch_to_same_plan",
        lambda m: _switch(m, plan_id=str(m.plan.id)),
        422,
        "plan_unchanged",
        "plan_id",
    ),
    (
        "contract_of_other_customer",
        lambda m: _update(
            m,
            customer_id=str(
                CustomerFactory(organization=m.organization, business_entity=m.entity).id
            ),
        ),
        422,
        "contract_customer_mismatch",
        "customer_id",
    ),
    ("contract_ended", _end_contract, 422, "contract_not_active", "contract_id"),
    (
        "change_before_contract_start",
        lambda m: _update(m, start_date="2025-12-01"),
        422,
        "start_date_outside_contract",
        "start_date",
    ),
    (
        "amendment_with_end_date",
        lambda m: _update(m, end_date="2027-01-01"),
        422,
        "end_date_not_allowed",
        "end_date",
    ),
    # quantities
    (
        "quantity_above_max",
        lambda m: plan_body(
            m,
            product_overrides=[
                {"product_id": str(m.onboarding.id), "is_enabled": True},
                {"product_id": str(m.seats.id), "quantity": 51},
            ],
        ),
        422,
        "quantity_out_of_bounds",
        "product_overrides.1.quantity",
    ),
    (
        "quantity_below_min",
        lambda m: plan_body(m, product_overrides=[{"product_id": str(m.seats.id), "quantity": 0}]),
        422,
        "quantity_out_of_bounds",
        "product_overrides.0.quantity",
    ),
    (
        "quantity_negative",
        lambda m: plan_body(m, product_overrides=[{"product_id": str(m.seats.id), "quantity": -1}]),
        422,
        "value_out_of_range",
        "product_overrides.0.quantity",
    ),
    (
        "quantity_update_above_max",
        lambda m: _update(m, product_overrides=[{"product_id": str(m.seats.id), "quantity": 500}]),
        422,
        "quantity_out_of_bounds",
        "product_overrides.0.quantity",
    ),
    (
        "disable_required_item",
        lambda m: plan_body(
            m, product_overrides=[{"product_id": str(m.platform.id), "is_enabled": False}]
        ),
        422,
        "item_not_optional",
        "product_overrides.0.is_enabled",
    ),
    (
        "override_product_not_in_plan",
        lambda m: plan_body(m, product_overrides=[{"product_id": str(m.storage.id)}]),
        422,
        "unknown_product_override",
        "product_overrides.0.product_id",
    ),
    (
        "override_duplicate",
        lambda m: plan_body(
            m,
            product_overrides=[
                {"product_id": str(m.seats.id), "quantity": 2},
                {"product_id": str(m.seats.id), "quantity": 3},
            ],
        ),
        422,
        "duplicate_product_override",
        "product_overrides.1.product_id",
    ),
    (
        "overrides_on_product_based",
        lambda m: {
            **_product_based(m),
            "product_overrides": [{"product_id": str(m.seats.id), "quantity": 2}],
        },
        422,
        "product_overrides_not_allowed",
        "product_overrides",
    ),
    # dates
    (
        "end_before_start",
        lambda m: _contract(m, end_date=START.isoformat()),
        422,
        "end_date_before_start_date",
        "contract.end_date",
    ),
    (
        "end_before_start_top_level",
        lambda m: _top_level(m, end_date="2026-01-01"),
        422,
        "end_date_before_start_date",
        "end_date",
    ),
    (
        "date_malformed",
        lambda m: _top_level(m, start_date="2026-13-01"),
        422,
        "invalid_date",
        "start_date",
    ),
    (
        "date_out_of_range",
        lambda m: _contract(m, start_date="1999-12-31"),
        422,
        "date_out_of_range",
        "contract.start_date",
    ),
    (
        "top_level_dates_conflict_with_contract",
        lambda m: plan_body(m, start_date="2026-02-01"),
        422,
        "conflicting_fields",
        "start_date",
    ),
    (
        "phase_gap",
        lambda m: {
            **_product_based(m),
            "contract": {
                **_product_based(m)["contract"],
                "phases": [
                    {
                        "start_date": START.isoformat(),
                        "end_date": "2026-03-01",
                        "pricings": [
                            {"product_id": str(m.seats.id), "pricing_id": str(m.seats_pricing.id)}
                        ],
                    },
                    {
                        "start_date": "2026-04-01",
                        "pricings": [
                            {"product_id": str(m.seats.id), "pricing_id": str(m.seats_pricing.id)}
                        ],
                    },
                ],
            },
        },
        422,
        "phase_dates_incoherent",
        "contract.phases.1.start_date",
    ),
    (
        "phase_end_before_start",
        lambda m: {
            **_product_based(m),
            "contract": {
                **_product_based(m)["contract"],
                "phases": [
                    {
                        "start_date": START.isoformat(),
                        "end_date": "2026-01-10",
                        "pricings": [
                            {"product_id": str(m.seats.id), "pricing_id": str(m.seats_pricing.id)}
                        ],
                    }
                ],
            },
        },
        422,
        "end_date_before_start_date",
        "contract.phases.0.end_date",
    ),
    # expiry
    (
        "expires_in_past",
        lambda m: plan_body(m, expires_at=_soon(minutes=-1)),
        422,
        "expires_at_in_past",
        "expires_at",
    ),
    (
        "expires_too_far",
        lambda m: plan_body(m, expires_at=_soon(days=30, minutes=5)),
        422,
        "expires_at_too_far",
        "expires_at",
    ),
    (
        "expires_malformed",
        lambda m: plan_body(m, expires_at="tomorrow"),
        422,
        "invalid_datetime",
        "expires_at",
    ),
    # type detection
    (
        "contract_and_contract_id",
        lambda m: plan_body(m, contract_id=str(m.contract.id)),
        422,
        "ambiguous_checkout_type",
        "contract_id",
    ),
    (
        "contract_and_plan_id",
        lambda m: plan_body(m, plan_id=str(m.plan.id)),
        422,
        "ambiguous_checkout_type",
        "plan_id",
    ),
    (
        "nothing_to_sell",
        lambda m: {"customer_id": str(m.customer.id), **URLS},
        422,
        "checkout_type_undetermined",
        "plan_id",
    ),
    (
        "contract_id_alone",
        lambda m: {"contract_id": str(m.contract.id), **URLS},
        422,
        "field_required",
        "product_overrides",
    ),
    (
        "plan_based_without_plan",
        lambda m: _contract(m, plan_id=None),
        422,
        "field_required",
        "contract.plan_id",
    ),
    (
        "plan_based_with_phases",
        lambda m: _contract(
            m,
            phases=[
                {
                    "pricings": [
                        {"product_id": str(m.seats.id), "pricing_id": str(m.seats_pricing.id)}
                    ]
                }
            ],
        ),
        422,
        "phases_not_allowed",
        "contract.phases",
    ),
    (
        "product_based_without_phases",
        lambda m: _product_based(m, phases=None),
        422,
        "field_required",
        "contract.phases",
    ),
    (
        "product_based_with_plan",
        lambda m: _product_based(m, plan_id=str(m.plan.id)),
        422,
        "plan_id_not_allowed",
        "contract.plan_id",
    ),
    (
        "phase_pricing_both",
        lambda m: _product_based(
            m,
            pricings=[
                {
                    "product_id": str(m.seats.id),
                    "pricing_id": str(m.seats_pricing.id),
                    "pricing": {"pricing_model": "flat_fee", "cadence": "P1M", "unit_amount": "1"},
                }
            ],
        ),
        422,
        "pricing_conflict",
        "contract.phases.0.pricings.0.pricing",
    ),
    (
        "phase_pricing_neither",
        lambda m: _product_based(m, pricings=[{"product_id": str(m.seats.id)}]),
        422,
        "field_required",
        "contract.phases.0.pricings.0.pricing_id",
    ),
    # inline pricings (the pricing engine's rules, rooted at the request's path)
    (
        "inline_tiers_not_open_ended",
        lambda m: _inline(
            m,
            pricing_model="tiered",
            unit_amount=None,
            tiers=[{"up_to": 10, "unit_amount": "1.00"}],
        ),
        422,
        "invalid_tiers",
        "contract.phases.0.pricings.0.pricing.tiers.0.up_to",
    ),
    (
        "inline_cadence_weeks",
        lambda m: _inline(m, cadence="P2W"),
        422,
        "invalid_cadence",
        "contract.phases.0.pricings.0.pricing.cadence",
    ),
    (
        "inline_amount_float",
        lambda m: _inline(m, unit_amount=5.5),
        422,
        "invalid_amount",
        "contract.phases.0.pricings.0.pricing.unit_amount",
    ),
    (
        "inline_per_unit_without_amount",
        lambda m: _inline(m, unit_amount=None),
        422,
        "invalid_pricing",
        "contract.phases.0.pricings.0.pricing.unit_amount",
    ),
    (
        "inline_model_unknown",
        lambda m: _inline(m, pricing_model="freemium"),
        422,
        "invalid_choice",
        "contract.phases.0.pricings.0.pricing.pricing_model",
    ),
    # customer modes
    (
        "guest_email_conflicts_with_customer_email",
        lambda m: _guest(m, customer_email="other@example.com"),
        422,
        "conflicting_fields",
        "customer_email",
    ),
    (
        "customer_email_with_a_customer",
        lambda m: {**plan_body(m), "customer_email": "a@example.com"},
        422,
        "field_not_allowed",
        "customer_email",
    ),
    (
        "customer_email_invalid",
        lambda m: _guest(m, customer=None, customer_email="not-an-email"),
        422,
        "invalid_email",
        "customer_email",
    ),
    (
        "guest_without_business_entity",
        lambda m: _guest(m, business_entity_id=None),
        422,
        "field_required",
        "business_entity_id",
    ),
    (
        "guest_with_customer_id",
        lambda m: _guest(m, customer_id=str(m.customer.id)),
        422,
        "guest_checkout_conflict",
        "customer_id",
    ),
    (
        "guest_amendment",
        lambda m: _update(
            m,
            guest_checkout=True,
            business_entity_id=str(m.entity.id),
            customer={"customer_name": "X"},
        ),
        422,
        "guest_checkout_not_allowed",
        "guest_checkout",
    ),
    (
        "customer_id_missing",
        lambda m: {**plan_body(m), "customer_id": None},
        422,
        "field_required",
        "customer_id",
    ),
    (
        "guest_email_invalid",
        lambda m: _guest_customer(m, email="not-an-email"),
        422,
        "invalid_email",
        "customer.email",
    ),
    (
        "guest_phone_without_country_code",
        lambda m: _guest_customer(m, phone_number="4155550100"),
        422,
        "invalid_phone_number",
        "customer.phone_number",
    ),
    (
        "guest_country_invalid",
        lambda m: _guest_customer(m, address={"line1": "1 Road", "country": "XX"}),
        422,
        "invalid_country",
        "customer.address.country",
    ),
    (
        "guest_custom_data_nul",
        lambda m: _guest_customer(m, custom_data={"a": "x\u0000y"}),
        422,
        "invalid_characters",
        "customer.custom_data",
    ),
    # metadata, attribution, trace id, unknown fields
    (
        "metadata_not_object",
        lambda m: plan_body(m, metadata=["a"]),
        422,
        "invalid_type",
        "metadata",
    ),
    (
        "metadata_too_many_keys",
        lambda m: plan_body(m, metadata={f"k{i}": i for i in range(51)}),
        422,
        "metadata_too_many_keys",
        "metadata",
    ),
    (
        "metadata_key_too_long",
        lambda m: plan_body(m, metadata={"k" * 41: 1}),
        422,
        "metadata_key_too_long",
        "metadata",
    ),
    (
        "metadata_too_large",
        lambda m: plan_body(m, metadata={"blob": "x" * 8200}),
        422,
        "metadata_too_large",
        "metadata",
    ),
    (
        "metadata_nul",
        lambda m: plan_body(m, metadata={"note": "a\u0000b"}),
        422,
        "invalid_characters",
        "metadata",
    ),
    (
        "attribution_unknown_key",
        lambda m: plan_body(m, attribution={"utm_sauce": "x"}),
        422,
        "unknown_field",
        "attribution.utm_sauce",
    ),
    (
        "attribution_too_long",
        lambda m: plan_body(m, attribution={"utm_source": "x" * 501}),
        422,
        "invalid_length",
        "attribution.utm_source",
    ),
    (
        "trace_id_invalid",
        lambda m: plan_body(m, trace_id="has spaces"),
        422,
        "invalid_trace_id",
        "trace_id",
    ),
    (
        "unknown_field",
        lambda m: plan_body(m, sucess_url="https://merchant.example/"),
        422,
        "unknown_field",
        "sucess_url",
    ),
    (
        "wrong_type",
        lambda m: plan_body(m, guest_checkout="maybe"),
        422,
        "invalid_type",
        "guest_checkout",
    ),
    (
        "string_with_nul",
        lambda m: _guest_customer(m, customer_name="Ada\u0000"),
        422,
        "invalid_characters",
        "customer.customer_name",
    ),
    (
        "idempotency_key_invalid",
        lambda m: plan_body(m, idempotency_key="has space"),
        422,
        "invalid_idempotency_key",
        "idempotency_key",
    ),
    (
        "idempotency_key_final_newline",
        lambda m: plan_body(m, idempotency_key="order-1\n"),
        422,
        "invalid_idempotency_key",
        "idempotency_key",
    ),
    (
        "too_many_overrides",
        lambda m: plan_body(m, product_overrides=[{"product_id": RANDOM}] * 101),
        422,
        "invalid_length",
        "product_overrides",
    ),
]


@pytest.mark.parametrize(
    ("build", "status", "code", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_create_rule_broken_answers_envelope_with_code_and_field(
    merchant, build, status, code, field
):
    body = build(merchant)
    sessions_before = CheckoutSession.objects.count()

    response = merchant.post(body)

    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == code
    assert field in error["fields"], error
    assert error["fields"][field] and all(isinstance(m, str) and m for m in error["fields"][field])
    assert CheckoutSession.objects.count() == sessions_before


def test_create_every_rule_has_a_distinct_case():
    assert len({c[0] for c in CASES}) == len(CASES)


def test_create_body_not_an_object_is_invalid_type(merchant):
    response = merchant.client.post(
        "/api/v1/checkout-sessions", data="[1, 2]", content_type="application/json"
    )

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == ("invalid_type", ["__all__"])


def test_create_live_key_requires_https_urls(merchant):
    _, raw = api_key_create(organization=merchant.organization, livemode=True)
    merchant.client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = merchant.post(plan_body(merchant, success_url="http://merchant.example/ok"))

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "url_https_required"
    assert list(error["fields"]) == ["success_url"]
    assert not CheckoutSession.objects.exists()


def test_create_live_key_with_https_urls_is_live(merchant):
    _, raw = api_key_create(organization=merchant.organization, livemode=True)
    merchant.client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = merchant.post(plan_body(merchant))

    assert response.status_code == 201, response.content
    assert response.json()["livemode"] is True
    assert CheckoutSession.objects.get().livemode is True


def test_create_test_key_accepts_http_urls_and_the_session_placeholder(merchant):
    response = merchant.post(
        plan_body(merchant, success_url="http://localhost:3000/ok?cs={CHECKOUT_SESSION_ID}")
    )

    assert response.status_code == 201, response.content
    assert response.json()["success_url"] == "http://localhost:3000/ok?cs={CHECKOUT_SESSION_ID}"


def test_create_expires_at_defaults_to_24_hours_and_accepts_up_to_30_days(merchant):
    default = merchant.post(plan_body(merchant)).json()
    later = merchant.post(plan_body(merchant, expires_at=_soon(days=29, hours=23))).json()

    created = datetime.datetime.fromisoformat(default["created_at"])
    expires = datetime.datetime.fromisoformat(default["expires_at"])
    assert (
        datetime.timedelta(hours=23, minutes=59) < expires - created <= datetime.timedelta(hours=24)
    )
    assert later["status"] == "open"


def test_create_several_broken_rules_lists_every_field(merchant):
    response = merchant.post(
        plan_body(merchant, success_url="/x", cancel_url="javascript:x", metadata=[1])
    )

    error = error_of(response)
    assert response.status_code == 422
    assert {"success_url", "cancel_url", "metadata"} <= set(error["fields"])
    assert error["code"] == "invalid_url"  # the first broken rule, in field order


def test_create_failed_validation_stores_no_idempotency_record(merchant):
    response = merchant.post(plan_body(merchant, customer_id=RANDOM), HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 404
    assert not IdempotencyRecord.objects.exists()


def test_create_guest_with_unknown_business_entity_uuid_is_404(merchant):
    response = merchant.post(_guest(merchant, business_entity_id=str(uuid.uuid4())))

    assert response.status_code == 404
    assert error_of(response)["code"] == "business_entity_not_found"


@pytest.mark.parametrize("number, status", [(1e38, 201), (-1e38, 201), (1.5e38, 422), (-1e300, 422), (10**39, 422)])
def test_metadata_numbers_stay_within_the_published_range(merchant, number, status):
    response = merchant.post(plan_body(merchant, metadata={"n": number, "deep": [{"m": number}]}))
    assert response.status_code == status, response.content
    if status == 422:
        assert error_of(response)["code"] == "value_out_of_range"
        assert list(error_of(response)["fields"]) == ["metadata"]
