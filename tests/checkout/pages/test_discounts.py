"""Promotion codes on the hosted page: applied (re-priced, re-locked), refused on the field,
removed; and the redemption counted once when the checkout completes."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.errors import PromotionCodesNotAllowed, PromotionCodeUsedUp
from billing.gateway import CARD_DECLINED, CARD_SETTLES_LATER
from billing.models import Contract, CouponRedemption, Invoice
from checkout.enums import PaymentStatus, SessionStatus
from checkout.services.confirm import Outcome, checkout_session_confirm, payment_settle
from checkout.services.discounts import checkout_session_promotion_code_apply
from tests.billing.factories import PromotionCodeFactory

from .helpers import amendment_session, card, priced_session, text
from .test_confirm import assert_invoice_matches_estimate

pytestmark = pytest.mark.django_db


def promo(session, code="SPRING20", **kwargs):
    kwargs.setdefault("coupon__organization", session.organization)
    return PromotionCodeFactory(code=code, **kwargs)


def page(session):
    return f"/pay/{session.token}"


# --- the service ------------------------------------------------------------------------------


def test_applying_a_code_reprices_and_relocks_the_session():
    session = priced_session(allow_promotion_codes=True, tax_rate=Decimal("10"))
    code = promo(session)
    before = session.updated_at

    checkout_session_promotion_code_apply(session_id=session.pk, code="spring20")

    session.refresh_from_db()
    current = session.estimates["current_invoice"]
    # 184.00 − 20 % (36.80) = 147.20, tax 14.72
    assert [line["kind"] for line in current["line_items"]][-1] == "discount"
    assert (current["subtotal"], current["tax"], current["total"]) == ("147.20", "14.72", "161.92")
    assert session.estimates["next_invoice"]["subtotal"] == "85.00"  # once: the first invoice only
    assert session.quote["discount"]["promotion_code"] == "SPRING20"
    assert (session.coupon_id, session.promotion_code_id) == (code.coupon_id, code.pk)
    assert session.updated_at > before  # the cached page is rebuilt

    checkout_session_promotion_code_apply(session_id=session.pk, code=None)
    session.refresh_from_db()
    assert session.estimates["current_invoice"]["total"] == "202.40"
    assert "discount" not in session.quote and session.coupon_id is None


def test_applying_or_removing_a_code_keeps_the_dashboards_amount_total_equal_to_the_estimate():
    session = priced_session(allow_promotion_codes=True, tax_rate=Decimal("10"),
                             attribution={"utm_source": "newsletter"}, utm_source="newsletter")
    promo(session)
    checkout_session_promotion_code_apply(session_id=session.pk, code="spring20")
    session.refresh_from_db()
    assert (session.amount_total, session.utm_source) == (Decimal("161.92"), "newsletter")
    checkout_session_promotion_code_apply(session_id=session.pk, code=None)
    session.refresh_from_db()
    assert session.amount_total == Decimal("202.40")


def test_a_session_that_does_not_allow_codes_refuses_them():
    session = priced_session()
    promo(session)
    with pytest.raises(PromotionCodesNotAllowed):
        checkout_session_promotion_code_apply(session_id=session.pk, code="SPRING20")


def test_a_code_on_an_amendment_is_priced_against_the_contract():
    session, _contract, _phase = amendment_session(new_quantity=5)
    session.allow_promotion_codes = True
    session.contract_version = 1
    session.contract_phase_id = _phase.pk
    session.save()
    promo(session, coupon__percent_off=Decimal("50"))
    before = session.estimates["current_invoice"]["total"]
    checkout_session_promotion_code_apply(session_id=session.pk, code="SPRING20")
    session.refresh_from_db()
    assert Decimal(session.estimates["current_invoice"]["total"]) == Decimal(before) / 2


# --- confirming: the invoice bills the discounted estimate, the redemption counts once ----------


def test_confirm_bills_the_discounted_estimate_and_counts_one_redemption():
    session = priced_session(allow_promotion_codes=True)
    code = promo(session, max_redemptions=5)
    session = checkout_session_promotion_code_apply(session_id=session.pk, code="SPRING20")

    result = checkout_session_confirm(session_id=session.pk, card=card())

    assert result.outcome == Outcome.COMPLETED
    assert_invoice_matches_estimate(result.invoice, session.estimates["current_invoice"])
    assert result.invoice.total == Decimal("147.20")
    assert result.invoice.lines.last().product_id is None  # the discount line
    redemption = CouponRedemption.objects.get()
    assert (redemption.coupon_id, redemption.promotion_code_id, redemption.checkout_session_id) == (
        code.coupon_id, code.pk, session.pk)
    code.refresh_from_db()
    code.coupon.refresh_from_db()
    assert (code.times_redeemed, code.coupon.times_redeemed) == (1, 1)
    contract = Contract.objects.get()
    assert contract.discount["promotion_code"] == "SPRING20"


def test_a_declined_card_counts_no_redemption():
    session = priced_session(allow_promotion_codes=True)
    code = promo(session)
    checkout_session_promotion_code_apply(session_id=session.pk, code="SPRING20")
    result = checkout_session_confirm(session_id=session.pk, card=card(CARD_DECLINED))
    assert result.outcome == Outcome.PAYMENT_FAILED
    code.refresh_from_db()
    assert code.times_redeemed == 0 and not CouponRedemption.objects.exists()


def test_a_code_used_up_before_confirming_refuses_the_confirm_and_charges_nothing():
    session = priced_session(allow_promotion_codes=True)
    code = promo(session, max_redemptions=1)
    checkout_session_promotion_code_apply(session_id=session.pk, code="SPRING20")
    type(code).objects.filter(pk=code.pk).update(times_redeemed=1)  # someone else completed first

    with pytest.raises(PromotionCodeUsedUp) as caught:
        checkout_session_confirm(session_id=session.pk, card=card())

    assert caught.value.fields == {"promotion_code": [caught.value.message]}
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN
    assert not Invoice.objects.exists() and not session.payments.exists()


def test_a_settle_later_payment_counts_its_redemption_when_it_settles():
    session = priced_session(allow_promotion_codes=True)
    code = promo(session, max_redemptions=1)
    checkout_session_promotion_code_apply(session_id=session.pk, code="SPRING20")
    result = checkout_session_confirm(session_id=session.pk, card=card(CARD_SETTLES_LATER))
    assert result.outcome == Outcome.PROCESSING
    code.refresh_from_db()
    assert code.times_redeemed == 0
    # The last use went elsewhere meanwhile; the money came in at the discounted price: honoured.
    type(code).objects.filter(pk=code.pk).update(times_redeemed=1)
    settled = payment_settle(payment_id=result.payment.pk)
    assert settled.outcome == Outcome.COMPLETED
    code.refresh_from_db()
    assert code.times_redeemed == 2 and CouponRedemption.objects.count() == 1


def test_a_fixed_amount_covering_everything_completes_without_payment():
    # The merchant asks for a card only when something is due now (a card is saved by default).
    session = priced_session(allow_promotion_codes=True, payment_method_collection="if_required")
    promo(session, coupon__percent_off=None, coupon__amount_off=Decimal("500"), coupon__currency="USD")
    checkout_session_promotion_code_apply(session_id=session.pk, code="SPRING20")
    result = checkout_session_confirm(session_id=session.pk, payment_method="none")
    session.refresh_from_db()
    assert session.payment_status == PaymentStatus.NO_PAYMENT_REQUIRED
    assert result.invoice.total == Decimal("0.00") and CouponRedemption.objects.count() == 1


# --- the page -----------------------------------------------------------------------------------


def test_page_shows_the_code_box_only_where_codes_are_allowed(client):
    assert "Promotion code" not in text(client.get(page(priced_session())))
    body = text(client.get(page(priced_session(allow_promotion_codes=True))))
    assert '<label for="id_promotion_code">Promotion code</label>' in body


def test_page_applies_a_code_and_shows_the_discounted_total(client):
    session = priced_session(allow_promotion_codes=True)
    promo(session)
    response = client.post(page(session) + "/promotion-code", {"promotion_code": "spring20", "action": "apply"})
    assert response.status_code == 302 and response["Location"] == page(session)
    body = text(client.get(page(session)))
    assert "Code SPRING20 applied: 20% off" in body
    assert "Applies to your first payment." in body
    assert "-$36.80" in body and "Pay $147.20" in body

    client.post(page(session) + "/promotion-code", {"action": "remove"})
    assert "Pay $184.00" in text(client.get(page(session)))


@pytest.mark.parametrize(("make", "message"), [
    (lambda s: None, "This code is not valid."),
    (lambda s: promo(s, valid_until=timezone.now() - datetime.timedelta(days=1)), "This code has expired."),
    # Switched off by the merchant: the buyer is told it is not valid, not that it expired.
    (lambda s: promo(s, is_active=False), "This code is not valid."),
    (lambda s: promo(s, max_redemptions=1, times_redeemed=1),
     "This code has been used the maximum number of times."),
    (lambda s: promo(s, coupon__plans=[s.plan.__class__.objects.create(
        organization=s.organization, name="Other", code="other", currency="USD")]),
     "This code cannot be used for this plan."),
])
def test_page_refuses_a_code_with_a_field_error(client, make, message):
    session = priced_session(allow_promotion_codes=True)
    make(session)
    response = client.post(page(session) + "/promotion-code", {"promotion_code": "SPRING20", "action": "apply"})
    assert response.status_code == 422
    body = text(response)
    assert f'<p class="field-error" id="id_promotion_code_error" role="alert">{message}</p>' in body
    assert 'value="SPRING20"' in body and 'aria-invalid="true"' in body
    session.refresh_from_db()
    assert session.coupon_id is None and "Pay $184.00" in body
