"""Pagination both ways (#28): ``starting_after`` / ``ending_before`` by object id beside the
cursor, on the session and webhook-endpoint lists; ``422 unknown_parameter`` on every GET."""

import datetime

import pytest
from django.utils import timezone

from checkout.models import CheckoutSession, WebhookEndpoint
from tests.checkout.factories import WebhookEndpointFactory

from .conftest import URL, error_of, plan_body

pytestmark = pytest.mark.django_db

HOOKS = "/api/v1/webhook-endpoints"


def _sessions(merchant, n) -> list[str]:
    """n sessions, newest first, one second apart."""
    ids = [merchant.post(plan_body(merchant)).json()["id"] for _ in range(n)]
    now = timezone.now()
    for index, session_id in enumerate(ids):
        CheckoutSession.objects.filter(pk=session_id).update(created_at=now - datetime.timedelta(seconds=n - index))
    return ids[::-1]


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


def test_sessions_page_forward_with_starting_after_and_back_with_ending_before(merchant):
    newest_first = _sessions(merchant, 5)

    first = merchant.get(URL, limit=2)
    second = merchant.get(URL, limit=2, starting_after=_ids(first)[-1])
    third = merchant.get(URL, limit=2, starting_after=_ids(second)[-1])
    assert [_ids(first), _ids(second), _ids(third)] == [newest_first[:2], newest_first[2:4], newest_first[4:]]
    assert [page.json()["has_more"] for page in (first, second, third)] == [True, True, False]
    # The cursor and starting_after agree.
    assert _ids(merchant.get(URL, limit=2, cursor=first.json()["next_cursor"])) == _ids(second)

    back = merchant.get(URL, limit=2, ending_before=newest_first[4])
    assert _ids(back) == newest_first[2:4] and back.json()["has_more"] is True
    assert back.json()["next_cursor"] is None
    top = merchant.get(URL, limit=2, ending_before=newest_first[2])
    assert _ids(top) == newest_first[:2] and top.json()["has_more"] is False


def test_starting_after_an_object_outside_the_filter_still_anchors_the_page(merchant):
    newest_first = _sessions(merchant, 3)
    CheckoutSession.objects.filter(pk=newest_first[0]).update(status="cancelled")
    assert _ids(merchant.get(URL, status="open", starting_after=newest_first[0])) == newest_first[1:]


@pytest.mark.parametrize("params, code, field", [
    ({"starting_after": "nope"}, "invalid_id", "starting_after"),
    ({"cursor": "abc", "ending_before": "9d1c5a4e-0000-4000-8000-000000000000"}, "pagination_conflict", "cursor"),
    ({"starting_after": "9d1c5a4e-0000-4000-8000-000000000000"}, "invalid_cursor", "starting_after"),
    ({"expand": "customer"}, "unknown_parameter", "expand"),
    ({"limt": "5"}, "unknown_parameter", "limt"),
])
def test_sessions_list_refusals(merchant, params, code, field):
    response = merchant.get(URL, **params)
    assert (response.status_code, error_of(response)["code"]) == (422, code), response.content
    assert field in error_of(response)["fields"]


def test_another_organizations_session_is_no_anchor(merchant, rival):
    theirs = rival.post(plan_body(rival)).json()["id"]
    response = merchant.get(URL, starting_after=theirs)
    assert (response.status_code, error_of(response)["code"]) == (422, "invalid_cursor")


def test_webhook_endpoint_list_pages_with_limit_and_both_directions(merchant):
    now = timezone.now()
    made = [WebhookEndpointFactory(organization=merchant.organization, url=f"https://m.example/{n}") for n in range(3)]
    for n, endpoint in enumerate(made):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(created_at=now - datetime.timedelta(seconds=n))
    newest_first = [str(endpoint.pk) for endpoint in made]

    first = merchant.get(HOOKS, limit=2)
    assert _ids(first) == newest_first[:2] and first.json()["has_more"] is True
    rest = merchant.get(HOOKS, limit=2, cursor=first.json()["next_cursor"])
    assert _ids(rest) == newest_first[2:] and rest.json()["has_more"] is False
    assert _ids(merchant.get(HOOKS, starting_after=newest_first[0])) == newest_first[1:]
    assert _ids(merchant.get(HOOKS, ending_before=newest_first[2])) == newest_first[:2]


@pytest.mark.parametrize("path_of", [
    lambda m, s, e: URL,
    lambda m, s, e: f"{URL}/{s}",
    lambda m, s, e: HOOKS,
    lambda m, s, e: f"{HOOKS}/{e}",
    lambda m, s, e: "/api/v1/events",
])
def test_every_get_refuses_unknown_query_parameters(merchant, path_of):
    session_id = merchant.post(plan_body(merchant)).json()["id"]
    endpoint = WebhookEndpointFactory(organization=merchant.organization)
    response = merchant.get(path_of(merchant, session_id, endpoint.pk), junk="1")
    assert (response.status_code, error_of(response)["code"]) == (422, "unknown_parameter"), response.content
    assert error_of(response)["fields"] == {"junk": ["Unknown query parameter."]}
