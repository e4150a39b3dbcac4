"""Creating sessions with a coupon, a promotion code or a free trial through the merchant API."""

import datetime
from decimal import Decimal

import pytest

from tests.billing.factories import CouponFactory, PromotionCodeFactory

from .conftest import START, URL, error_of, plan_body

pytestmark = pytest.mark.django_db

# Starter: platform 49.00 + 3 seats × 12.00 + onboarding 199.00 = 284.00, tax 10 %.


def test_create_with_a_coupon_prices_the_discount_into_the_locked_estimate(merchant):
    coupon = CouponFactory(organization=merchant.organization, percent_off=Decimal("25"), duration="forever")
    response = merchant.post(plan_body(merchant, discounts=[{"coupon_id": str(coupon.id)}]))
    assert response.status_code == 201, response.content
    session = response.json()
    current, following = session["estimates"]["current_invoice"], session["estimates"]["next_invoice"]
    assert current["line_items"][-1]["kind"] == "discount"
    assert current["line_items"][-1]["amount"] == "-71.00"
    assert (current["subtotal"], current["tax"], current["total"]) == ("213.00", "21.30", "234.30")
    assert following["subtotal"] == "63.75"  # (49 + 36) × 0.75: forever
    assert session["discount"]["coupon_id"] == str(coupon.id)
    assert session["discount"]["percent_off"] == "25" and session["discount"]["promotion_code"] is None
    assert session["allow_promotion_codes"] is False


def test_create_with_a_promotion_code_matches_it_without_case(merchant):
    code = PromotionCodeFactory(coupon__organization=merchant.organization, code="Spring20")
    response = merchant.post(plan_body(merchant, discounts=[{"promotion_code": " spring20 "}]))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["discount"]["promotion_code"] == "Spring20"
    assert body["discount"]["promotion_code_id"] == str(code.id)
    assert body["estimates"]["current_invoice"]["subtotal"] == "227.20"  # 284 − 56.80


@pytest.mark.parametrize(("setup", "code", "field"), [
    (lambda m: None, "promotion_code_unknown", "discounts.0.promotion_code"),
    (lambda m: PromotionCodeFactory(coupon__organization=m.organization, code="X", is_active=False),
     "promotion_code_expired", "discounts.0.promotion_code"),
    (lambda m: PromotionCodeFactory(coupon__organization=m.organization, code="X",
                                    valid_until=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)),
     "promotion_code_expired", "discounts.0.promotion_code"),
    (lambda m: PromotionCodeFactory(coupon__organization=m.organization, code="X",
                                    coupon__valid_from=datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)),
     "promotion_code_expired", "discounts.0.promotion_code"),
    (lambda m: PromotionCodeFactory(coupon__organization=m.organization, code="X", max_redemptions=2,
                                    times_redeemed=2),
     "promotion_code_used_up", "discounts.0.promotion_code"),
    (lambda m: PromotionCodeFactory(coupon__organization=m.organization, code="X",
                                    coupon__max_redemptions=1, coupon__times_redeemed=1),
     "promotion_code_used_up", "discounts.0.promotion_code"),
    (lambda m: PromotionCodeFactory(coupon__organization=m.organization, code="X", coupon__percent_off=None,
                                    coupon__amount_off=Decimal("10"), coupon__currency="EUR"),
     "coupon_not_applicable", "discounts.0.promotion_code"),
    (lambda m: PromotionCodeFactory(coupon__organization=m.organization, code="X",
                                    coupon__plans=[m.plan_pro]),
     "coupon_not_applicable", "discounts.0.promotion_code"),
    (lambda m: PromotionCodeFactory(coupon__organization=m.organization, code="X", coupon__livemode=True),
     "promotion_code_unknown", "discounts.0.promotion_code"),
])
def test_create_refuses_a_code_that_cannot_apply_naming_the_field(merchant, setup, code, field):
    setup(merchant)
    response = merchant.post(plan_body(merchant, discounts=[{"promotion_code": "x"}]))
    error = error_of(response)
    assert (response.status_code, error["code"]) == (422, code), error
    assert list(error["fields"]) == [field]


def test_coupon_restricted_to_the_plan_applies_to_it(merchant):
    coupon = CouponFactory(organization=merchant.organization, plans=[merchant.plan])
    response = merchant.post(plan_body(merchant, discounts=[{"coupon_id": str(coupon.id)}]))
    assert response.status_code == 201, response.content
    session = response.json()
    current, following = session["estimates"]["current_invoice"], session["estimates"]["next_invoice"]
    # 20 % off the first invoice: 284.00 − 56.80, then 10 % tax on what is left.
    assert (current["line_items"][-1]["kind"], current["line_items"][-1]["amount"]) == ("discount", "-56.80")
    assert (current["subtotal"], current["tax"], current["total"], current["amount_due"]) == (
        "227.20", "22.72", "249.92", "249.92")
    assert following["subtotal"] == "85.00"  # once: the next invoice is at full price
    assert (session["discount"]["coupon_id"], session["discount"]["percent_off"]) == (str(coupon.id), "20")


def test_another_organizations_coupon_is_not_found(merchant, rival):
    coupon = CouponFactory(organization=rival.organization)
    response = merchant.post(plan_body(merchant, discounts=[{"coupon_id": str(coupon.id)}]))
    assert (response.status_code, error_of(response)["code"]) == (404, "coupon_not_found")
    assert error_of(response)["fields"] == {"discounts.0.coupon_id": ["No such coupon."]}


def test_discounts_and_allow_promotion_codes_are_not_given_together(merchant):
    coupon = CouponFactory(organization=merchant.organization)
    response = merchant.post(plan_body(merchant, discounts=[{"coupon_id": str(coupon.id)}],
                                       allow_promotion_codes=True))
    assert (response.status_code, error_of(response)["code"]) == (422, "discounts_conflict")


def test_allow_promotion_codes_is_stored_and_shown(merchant):
    response = merchant.post(plan_body(merchant, allow_promotion_codes=True))
    assert response.status_code == 201
    assert response.json()["allow_promotion_codes"] is True and response.json()["discount"] is None


# --- trials ---------------------------------------------------------------------------------


def test_trial_period_days_makes_today_free_and_bills_the_first_period_when_it_ends(merchant):
    response = merchant.post(plan_body(merchant, trial_period_days=14))
    assert response.status_code == 201, response.content
    body = response.json()
    current, first_paid = body["estimates"]["current_invoice"], body["estimates"]["next_invoice"]
    assert body["trial_end"] == "2026-01-29"
    assert (current["total"], current["amount_due"]) == ("0.00", "0.00")
    assert {line["kind"] for line in current["line_items"]} == {"trial"}
    assert first_paid["invoice_date"] == "2026-01-29"
    assert first_paid["total"] == "312.40"  # the whole first period, onboarding included, with tax


def test_the_plans_trial_applies_unless_the_session_says_otherwise(merchant):
    merchant.plan.trial_period_days = 30
    merchant.plan.save()
    body = merchant.post(plan_body(merchant)).json()
    assert body["trial_end"] == (START + datetime.timedelta(days=30)).isoformat()
    body = merchant.post(plan_body(merchant, trial_end="2026-01-20")).json()
    assert body["trial_end"] == "2026-01-20"


@pytest.mark.parametrize(("extra", "status", "code", "field"), [
    ({"trial_end": "2026-01-15"}, 422, "invalid_dates", "trial_end"),
    ({"trial_end": "2026-01-20", "trial_period_days": 3}, 422, "conflicting_fields", "trial_end"),
    ({"trial_period_days": 0}, 422, "value_out_of_range", "trial_period_days"),
])
def test_trial_fields_are_checked(merchant, extra, status, code, field):
    response = merchant.post(plan_body(merchant, **extra))
    error = error_of(response)
    assert (response.status_code, error["code"]) == (status, code), error
    assert field in error["fields"]


def test_a_trial_is_refused_on_an_amendment(merchant):
    response = merchant.post({"contract_id": str(merchant.contract.id), "plan_id": str(merchant.plan_pro.id),
                              "start_date": "2026-01-20", "trial_period_days": 7, "customer_id": str(merchant.customer.id)},
                             path=URL)
    assert (response.status_code, error_of(response)["code"]) == (422, "trial_not_allowed")


# --- tax ids --------------------------------------------------------------------------------


def test_a_guests_tax_id_is_checked_for_its_type(merchant):
    body = {"plan_id": str(merchant.plan.id), "guest_checkout": True, "business_entity_id": str(merchant.entity.id),
            "customer": {"customer_name": "Ada", "tax_info": [{"type": "eu_vat", "value": "FR00000000000"}]}}
    response = merchant.post(body)
    error = error_of(response)
    assert (response.status_code, error["code"]) == (422, "invalid_tax_id")
    assert list(error["fields"]) == ["customer.tax_info.0.value"]
    body["customer"]["tax_info"] = [{"type": "eu_vat", "value": "fr 40 303 265 045"}]
    response = merchant.post(body)
    assert response.status_code == 201, response.content
    assert response.json()["customer"]["tax_info"] == [{"type": "eu_vat", "value": "FR40303265045"}]


# --- consent --------------------------------------------------------------------------------


def test_consent_needs_the_entitys_terms_url_and_is_shown(merchant):
    body = plan_body(merchant, consent_collection={"terms_of_service": "required"})
    response = merchant.post(body)
    assert (response.status_code, error_of(response)["code"]) == (422, "terms_of_service_url_missing")
    merchant.entity.terms_url = "https://acme.example/terms"
    merchant.entity.save()
    created = merchant.post(body).json()
    assert created["consent_collection"] == {"terms_of_service": "required"}
    assert created["terms_of_service_url"] == "https://acme.example/terms"
    assert created["terms_accepted_at"] is None

    path = f"{URL}/{created['id']}/confirm"
    refused = merchant.post({"mode": "charge_now", "payment_method_id": "pm_test_succeeds"}, path=path)
    assert (refused.status_code, error_of(refused)["code"]) == (422, "terms_not_accepted")
    confirmed = merchant.post({"mode": "charge_now", "payment_method_id": "pm_test_succeeds",
                               "terms_accepted": True}, path=path)
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["terms_accepted_at"] is not None


# --- recovery -------------------------------------------------------------------------------


def test_recovery_is_enabled_at_creation_and_its_url_given_on_expiry(merchant):
    created = merchant.post(plan_body(merchant, after_expiration={"recovery": {"enabled": True}})).json()
    assert created["after_expiration"] == {"recovery": {"enabled": True}}
    assert created["recovery_url"] is None and created["recovered_from"] is None
    expired = merchant.post({}, path=f"{URL}/{created['id']}/expire").json()
    assert expired["status"] == "expired"
    assert expired["recovery_url"].endswith(f"/pay/{created['url'].rsplit('/', 1)[1]}/recover")
    plain = merchant.post(plan_body(merchant)).json()
    assert plain["after_expiration"] == {"recovery": {"enabled": False}}
    assert merchant.post({}, path=f"{URL}/{plain['id']}/expire").json()["recovery_url"] is None
