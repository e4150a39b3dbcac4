"""Another organization's ids answer 404 on every endpoint and for every id a body references,
never 403, never data."""

import pytest

from checkout.enums import SessionStatus
from checkout.models import CheckoutSession
from tests.checkout.api.conftest import CHANGE, START, URL, URLS, error_of, plan_body
from tests.checkout.factories import CheckoutSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rival_session(rival):
    return CheckoutSessionFactory(
        organization=rival.organization,
        customer=rival.customer,
        business_entity=rival.entity,
        plan=rival.plan,
    )


def test_retrieve_other_tenants_session_is_404(merchant, rival_session):
    response = merchant.get(f"{URL}/{rival_session.id}")

    assert response.status_code == 404
    assert error_of(response)["code"] == "checkout_session_not_found"
    assert str(rival_session.id) not in response.content.decode()


def test_cancel_other_tenants_session_is_404_and_changes_nothing(merchant, rival_session):
    response = merchant.post({"reason": "duplicate"}, path=f"{URL}/{rival_session.id}/cancel")

    assert response.status_code == 404
    assert error_of(response)["code"] == "checkout_session_not_found"
    rival_session.refresh_from_db()
    assert rival_session.status == SessionStatus.OPEN


def test_list_shows_only_own_sessions_even_when_filtering_by_a_foreign_customer(
    merchant, rival, rival_session
):
    mine = merchant.post(plan_body(merchant)).json()

    everything = merchant.get().json()
    by_foreign_customer = merchant.get(customer_id=str(rival.customer.id)).json()

    assert [s["id"] for s in everything["data"]] == [mine["id"]]
    assert by_foreign_customer["data"] == []


def _product_based(m, product_id, pricing_id=None):
    entry = {"product_id": product_id, "quantity": 1}
    if pricing_id:
        entry["pricing_id"] = pricing_id
    else:
        entry["pricing"] = {"pricing_model": "flat_fee", "cadence": "P1M", "unit_amount": "1.00"}
    return {
        "contract": {
            "is_plan_based": False,
            "currency": "USD",
            "start_date": START.isoformat(),
            "phases": [{"pricings": [entry]}],
        },
        "customer_id": str(m.customer.id),
        **URLS,
    }


FOREIGN_REFERENCES = [
    (
        "customer_id",
        lambda m, r: plan_body(m, customer_id=str(r.customer.id)),
        "customer_not_found",
        "customer_id",
    ),
    (
        "contract.plan_id",
        lambda m, r: {
            **plan_body(m),
            "contract": {**plan_body(m)["contract"], "plan_id": str(r.plan.id)},
        },
        "plan_not_found",
        "contract.plan_id",
    ),
    (
        "plan_id",
        lambda m, r: {"plan_id": str(r.plan.id), "customer_id": str(m.customer.id), **URLS},
        "plan_not_found",
        "plan_id",
    ),
    (
        "plan_id_on_switch",
        lambda m, r: {
            "contract_id": str(m.contract.id),
            "plan_id": str(r.plan_pro.id),
            "start_date": CHANGE.isoformat(),
        },
        "plan_not_found",
        "plan_id",
    ),
    (
        "contract_id",
        lambda m, r: {
            "contract_id": str(r.contract.id),
            "start_date": CHANGE.isoformat(),
            "product_overrides": [{"product_id": str(m.seats.id), "quantity": 2}],
        },
        "contract_not_found",
        "contract_id",
    ),
    (
        "customer_id_on_amendment",
        lambda m, r: {
            "contract_id": str(m.contract.id),
            "customer_id": str(r.customer.id),
            "start_date": CHANGE.isoformat(),
            "product_overrides": [{"product_id": str(m.seats.id), "quantity": 2}],
        },
        "customer_not_found",
        "customer_id",
    ),
    (
        "business_entity_id_guest",
        lambda m, r: {
            "plan_id": str(m.plan.id),
            "guest_checkout": True,
            "business_entity_id": str(r.entity.id),
            "customer": {"customer_name": "Guest"},
        },
        "business_entity_not_found",
        "business_entity_id",
    ),
    (
        "business_entity_id_customer",
        lambda m, r: plan_body(m, business_entity_id=str(r.entity.id)),
        "business_entity_not_found",
        "business_entity_id",
    ),
    (
        "business_entity_id_amendment",
        lambda m, r: {
            "contract_id": str(m.contract.id),
            "plan_id": str(m.plan_pro.id),
            "business_entity_id": str(r.entity.id),
            "start_date": CHANGE.isoformat(),
        },
        "business_entity_not_found",
        "business_entity_id",
    ),
    (
        "phase_product_id",
        lambda m, r: _product_based(m, str(r.storage.id)),
        "product_not_found",
        "contract.phases.0.pricings.0.product_id",
    ),
    (
        "phase_pricing_id",
        lambda m, r: _product_based(m, str(m.seats.id), str(r.seats_pricing.id)),
        "pricing_not_found",
        "contract.phases.0.pricings.0.pricing_id",
    ),
    (
        "product_overrides_product_id",
        lambda m, r: plan_body(
            m, product_overrides=[{"product_id": str(r.seats.id), "quantity": 2}]
        ),
        "product_not_found",
        "product_overrides.0.product_id",
    ),
    (
        "product_overrides_product_id_on_update",
        lambda m, r: {
            "contract_id": str(m.contract.id),
            "start_date": CHANGE.isoformat(),
            "product_overrides": [{"product_id": str(r.seats.id), "quantity": 2}],
        },
        "product_not_found",
        "product_overrides.0.product_id",
    ),
]


@pytest.mark.parametrize(
    ("build", "code", "field"),
    [c[1:] for c in FOREIGN_REFERENCES],
    ids=[c[0] for c in FOREIGN_REFERENCES],
)
def test_create_referencing_other_tenants_id_is_404(merchant, rival, build, code, field):
    response = merchant.post(build(merchant, rival))

    assert response.status_code == 404, response.content
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == (code, [field])
    assert not CheckoutSession.objects.exists()


def test_create_override_of_own_product_outside_the_plan_stays_422(merchant):
    response = merchant.post(
        plan_body(merchant, product_overrides=[{"product_id": str(merchant.storage.id)}])
    )

    assert response.status_code == 422
    assert error_of(response)["code"] == "unknown_product_override"


def test_same_ids_work_for_their_owner(rival, rival_session):
    assert rival.get(f"{URL}/{rival_session.id}").status_code == 200
    assert rival.post(plan_body(rival)).status_code == 201
