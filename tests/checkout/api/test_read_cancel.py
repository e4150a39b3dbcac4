"""Retrieve, list (cursor pagination, filters, newest first) and cancel."""

import datetime

import pytest
from django.utils import timezone

from checkout.enums import CancellationReason, CheckoutType, EventType, SessionStatus
from checkout.models import CheckoutSession, Event
from tests.checkout.api.conftest import URL, error_of, plan_body
from tests.checkout.factories import CheckoutSessionFactory

pytestmark = pytest.mark.django_db


def _session(m, **fields):
    fields.setdefault("organization", m.organization)
    fields.setdefault("customer", m.customer)
    fields.setdefault("business_entity", m.entity)
    fields.setdefault("plan", m.plan)
    return CheckoutSessionFactory(**fields)


def _aged(sessions):
    """Distinct, known creation times (newest last), as the list orders by them."""
    base = timezone.now() - datetime.timedelta(hours=1)
    for i, session in enumerate(sessions):
        CheckoutSession.objects.filter(pk=session.pk).update(
            created_at=base + datetime.timedelta(minutes=i)
        )
    return sessions


# --- retrieve ------------------------------------------------------------------------------


def test_retrieve_returns_the_created_session(merchant):
    created = merchant.post(plan_body(merchant)).json()

    response = merchant.get(f"{URL}/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created


def test_retrieve_past_expires_at_expires_it_on_read(merchant):
    session = _session(merchant, expires_at=timezone.now() - datetime.timedelta(seconds=1))

    body = merchant.get(f"{URL}/{session.id}").json()

    assert (body["status"], body["expired_at"] is not None) == (SessionStatus.EXPIRED, True)
    assert Event.objects.filter(checkout_session=session, type=EventType.EXPIRED).count() == 1


def test_retrieve_unknown_id_is_404(merchant):
    response = merchant.get(f"{URL}/8f4e2b1c-0a9d-4e7f-b6c5-d4e3f2a1b0c9")

    assert response.status_code == 404
    assert error_of(response)["code"] == "checkout_session_not_found"


def test_retrieve_malformed_id_is_json_404(merchant):
    response = merchant.get(f"{URL}/not-a-uuid")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- list ----------------------------------------------------------------------------------


def test_list_is_newest_first_with_cursor_pages(merchant):
    sessions = _aged([_session(merchant) for _ in range(5)])

    first = merchant.get(limit=2).json()
    second = merchant.get(limit=2, cursor=first["next_cursor"]).json()
    third = merchant.get(limit=2, cursor=second["next_cursor"]).json()

    newest_first = [str(s.id) for s in reversed(sessions)]
    assert [s["id"] for s in first["data"] + second["data"] + third["data"]] == newest_first
    assert (first["has_more"], second["has_more"], third["has_more"]) == (True, True, False)
    assert third["next_cursor"] is None
    assert first["object"] == "list"


def test_list_cursor_is_stable_when_sessions_are_added(merchant):
    _aged([_session(merchant) for _ in range(3)])
    first = merchant.get(limit=2).json()
    merchant.post(plan_body(merchant))  # newer than every listed one

    rest = merchant.get(limit=2, cursor=first["next_cursor"]).json()

    assert len(rest["data"]) == 1
    assert rest["data"][0]["id"] not in {s["id"] for s in first["data"]}


def test_list_ties_on_created_at_are_ordered_by_id(merchant):
    sessions = [_session(merchant) for _ in range(3)]
    CheckoutSession.objects.update(created_at=timezone.now())

    ids = [s["id"] for page in _pages(merchant, limit=1) for s in page["data"]]

    assert ids == sorted((str(s.id) for s in sessions), reverse=True)


def _pages(merchant, **params):
    page = merchant.get(**params).json()
    yield page
    while page["has_more"]:
        page = merchant.get(cursor=page["next_cursor"], **params).json()
        yield page


def test_list_filters_by_status_customer_type_and_created_range(merchant):
    from tests.customers.factories import CustomerFactory

    other_customer = CustomerFactory(
        organization=merchant.organization, business_entity=merchant.entity
    )
    open_one, cancelled, other, switch = _aged(
        [
            _session(merchant),
            _session(merchant, status=SessionStatus.CANCELLED),
            _session(merchant, customer=other_customer),
            _session(merchant, checkout_type=CheckoutType.PLAN_SWITCH),
        ]
    )
    created = {s.pk: CheckoutSession.objects.get(pk=s.pk).created_at for s in (open_one, other)}

    def ids(**params):
        return {s["id"] for s in merchant.get(**params).json()["data"]}

    assert ids(status="cancelled") == {str(cancelled.id)}
    assert ids(customer_id=str(other_customer.id)) == {str(other.id)}
    assert ids(checkout_type="plan_switch") == {str(switch.id)}
    assert ids(
        created_gte=created[open_one.pk].isoformat(), created_lt=created[other.pk].isoformat()
    ) == {str(open_one.id), str(cancelled.id)}
    assert ids(
        created_gt=created[open_one.pk].isoformat(), created_lte=created[other.pk].isoformat()
    ) == {str(cancelled.id), str(other.id)}


def test_list_status_filters_see_read_time_expiry(merchant):
    due = _session(merchant, expires_at=timezone.now() - datetime.timedelta(minutes=1))
    live = _session(merchant)

    open_ids = [s["id"] for s in merchant.get(status="open").json()["data"]]
    expired = merchant.get(status="expired").json()["data"]

    assert open_ids == [str(live.id)]
    assert [(s["id"], s["status"]) for s in expired] == [(str(due.id), "expired")]
    due.refresh_from_db()
    assert due.status == SessionStatus.EXPIRED


@pytest.mark.parametrize("hand_written_sql", [True, False], ids=["sql", "orm"])
def test_list_expires_a_page_of_due_sessions_at_once(merchant, monkeypatch, django_assert_num_queries,
                                                    hand_written_sql):
    monkeypatch.setattr("core.db.hand_written_sql_supported", lambda: hand_written_sql)
    past = timezone.now() - datetime.timedelta(minutes=1)
    due = [_session(merchant, expires_at=past) for _ in range(12)]
    Event.objects.create(organization=merchant.organization, checkout_session=due[0],
                         type=EventType.PAYMENT_FAILED, sequence=1, payload={})
    live = _session(merchant)
    processing = _session(merchant, expires_at=past, status=SessionStatus.PROCESSING)
    merchant.get(limit=1)  # records the key's use (last_used_at), at most once a minute

    # The key, the page, the expiry in its transaction (a savepoint here: the test runs in
    # one), the due rows again; whatever the number of due rows. The expiry is one statement
    # on PostgreSQL, five through the ORM (lock, update, read back, last sequences, insert).
    with django_assert_num_queries(6 if hand_written_sql else 10):
        response = merchant.get(limit=25)

    listed = {s["id"]: s["status"] for s in response.json()["data"]}
    assert listed == {**{str(s.id): "expired" for s in due}, str(live.id): "open", str(processing.id): "processing"}
    rows = {s.pk: s for s in CheckoutSession.objects.filter(pk__in=[s.pk for s in due])}
    assert {r.status for r in rows.values()} == {SessionStatus.EXPIRED}
    assert all(r.expired_at is not None for r in rows.values())
    events = list(Event.objects.filter(type=EventType.EXPIRED).values_list("checkout_session_id", "sequence"))
    assert sorted(events) == sorted((s.pk, 2 if s == due[0] else 1) for s in due)
    # Read again: nothing more to expire, no second event.
    merchant.get(limit=25)
    assert Event.objects.filter(type=EventType.EXPIRED).count() == 12


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"status": "done"}, "invalid_choice", "status"),
        ({"checkout_type": "upgrade"}, "invalid_choice", "checkout_type"),
        ({"customer_id": "cus_1"}, "invalid_id", "customer_id"),
        ({"created_gte": "yesterday"}, "invalid_datetime", "created_gte"),
        ({"limit": "0"}, "value_out_of_range", "limit"),
        ({"limit": "101"}, "value_out_of_range", "limit"),
        ({"cursor": "garbage!"}, "invalid_cursor", "cursor"),
        ({"custmer_id": "x"}, "unknown_parameter", "custmer_id"),
    ],
)
def test_list_invalid_query_is_422(merchant, params, code, field):
    response = merchant.get(**params)

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == (code, [field])


def test_list_query_count_is_constant(merchant, django_assert_num_queries):
    for _ in range(30):
        _session(merchant)

    merchant.get(limit=1)  # records the key's use (last_used_at), at most once a minute
    with django_assert_num_queries(2):  # the key, the page
        response = merchant.get(limit=25)

    assert len(response.json()["data"]) == 25


# --- cancel --------------------------------------------------------------------------------


def test_cancel_open_session_with_reason_and_detail(merchant):
    created = merchant.post(plan_body(merchant)).json()

    response = merchant.post(
        {"reason": "duplicate", "detail": "Replaced by A-2"}, path=f"{URL}/{created['id']}/cancel"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["cancellation_reason"], body["cancellation_detail"]) == (
        "cancelled",
        "duplicate",
        "Replaced by A-2",
    )
    session = CheckoutSession.objects.get(pk=created["id"])
    assert (session.status, session.cancellation_reason) == (
        SessionStatus.CANCELLED,
        CancellationReason.DUPLICATE,
    )
    assert Event.objects.filter(checkout_session=session, type=EventType.CANCELLED).count() == 1


@pytest.mark.parametrize(
    "status",
    [
        SessionStatus.PROCESSING,
        SessionStatus.COMPLETED,
        SessionStatus.CANCELLED,
        SessionStatus.EXPIRED,
    ],
)
def test_cancel_session_that_is_not_open_is_409(merchant, status):
    session = _session(merchant, status=status)

    response = merchant.post({"reason": "abandoned"}, path=f"{URL}/{session.id}/cancel")

    assert response.status_code == 409
    assert error_of(response)["code"] == "checkout_session_not_open"
    session.refresh_from_db()
    assert session.status == status
    assert not Event.objects.filter(checkout_session=session).exists()


def test_cancel_session_past_expiry_is_409_and_expired(merchant):
    session = _session(merchant, expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = merchant.post({"reason": "abandoned"}, path=f"{URL}/{session.id}/cancel")

    assert response.status_code == 409
    session.refresh_from_db()
    assert session.status == SessionStatus.EXPIRED


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"reason": "changed_my_mind"}, "invalid_cancellation_reason", "reason"),
        ({"reason": "other", "detail": "x" * 501}, "invalid_length", "detail"),
        ({"reason": "other", "note": "x"}, "unknown_field", "note"),
    ],
)
def test_cancel_invalid_body_is_422_and_changes_nothing(merchant, body, code, field):
    session = _session(merchant)

    response = merchant.post(body, path=f"{URL}/{session.id}/cancel")

    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], list(error["fields"])) == (code, [field])
    session.refresh_from_db()
    assert session.status == SessionStatus.OPEN


def test_cancel_unknown_session_is_404(merchant):
    response = merchant.post(
        {"reason": "other"}, path=f"{URL}/8f4e2b1c-0a9d-4e7f-b6c5-d4e3f2a1b0c9/cancel"
    )

    assert response.status_code == 404
    assert error_of(response)["code"] == "checkout_session_not_found"
