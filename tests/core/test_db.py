"""``core.db.JoinedRowLoader``: the same instances ``select_related`` builds, from one fixed
statement."""

from decimal import Decimal

import pytest
from django.db import connection
from django.forms.utils import flatatt
from django.test.utils import CaptureQueriesContext

from checkout.forms import attrs_html
from checkout.models import CheckoutSession
from checkout.selectors import checkout_session_get_by_token
from core.db import JoinedRowLoader
from tests.checkout.factories import CheckoutSessionFactory

pytestmark = pytest.mark.django_db

RELATIONS = ("business_entity", "customer", "plan")
LOADER = JoinedRowLoader(CheckoutSession, RELATIONS, by=("token",))


def _orm(token):
    return CheckoutSession.objects.select_related(*RELATIONS).get(token=token)


def _values(instance):
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_loads_what_select_related_loads_json_decoded_and_relations_cached():
    session = CheckoutSessionFactory(
        metadata={"order": "1042", "nested": {"a": [1, 2]}},
        estimates={"current_invoice": {"total": "285.78"}},
        business_entity__tax_rate=Decimal("8.25"),
    )
    expected = _orm(session.token)
    with CaptureQueriesContext(connection) as captured:
        loaded = LOADER.get(session.token)
        related = [loaded.business_entity, loaded.customer, loaded.plan]
    assert len(captured.captured_queries) == 1
    assert _values(loaded) == _values(expected)
    assert loaded.metadata == {"order": "1042", "nested": {"a": [1, 2]}}
    assert loaded.estimates["current_invoice"]["total"] == "285.78"
    for got, want in zip(related, [expected.business_entity, expected.customer, expected.plan], strict=True):
        assert _values(got) == _values(want)
    assert loaded.business_entity.tax_rate == Decimal("8.25")
    assert not loaded._state.adding and loaded._state.db == "default"


def test_a_missing_nullable_relation_is_cached_as_none():
    session = CheckoutSessionFactory(customer=None, guest_checkout=True, plan=None)
    with CaptureQueriesContext(connection) as captured:
        loaded = LOADER.get(session.token)
        assert loaded.customer is None and loaded.plan is None
        assert loaded.business_entity.pk == session.business_entity_id
    assert len(captured.captured_queries) == 1


def test_no_row_is_none_and_the_page_selector_uses_the_loader():
    assert LOADER.get("no-such-token") is None
    session = CheckoutSessionFactory()
    with CaptureQueriesContext(connection) as captured:
        loaded = checkout_session_get_by_token(token=session.token)
        assert loaded.customer.email == session.customer.email
    assert loaded.pk == session.pk
    assert len(captured.captured_queries) == 1


@pytest.mark.parametrize(
    "attrs",
    [
        {"id": "id_email", "required": True, "autocomplete": "email", "maxlength": 254},
        {"placeholder": 'a "quoted" <tag> & \'apostrophe\'', "disabled": False, "x": None, "aria-invalid": "true"},
        {},
    ],
)
def test_attrs_html_writes_what_flatatt_writes(attrs):
    assert attrs_html(attrs) == flatatt(attrs)


def test_values_reads_some_columns_as_values_list_does():
    session = CheckoutSessionFactory(metadata={"order": "7"})
    fields = ("id", "status", "updated_at", "metadata", "organization")
    loader = JoinedRowLoader(CheckoutSession, by=("token",), fields=fields)

    with CaptureQueriesContext(connection) as captured:
        row = loader.values(session.token)

    assert len(captured.captured_queries) == 1
    assert row == CheckoutSession.objects.filter(token=session.token).values_list(*fields).first()
    assert row[3] == {"order": "7"}
    assert loader.values("cs_missing") is None
    with pytest.raises(TypeError):
        loader.get(session.token)
    with pytest.raises(TypeError):
        LOADER.values(session.token)
    with pytest.raises(ValueError):
        JoinedRowLoader(CheckoutSession, RELATIONS, by=("token",), fields=("id",))


def test_the_loader_and_prepared_cursor_are_pinned_to_the_django_they_were_checked_against():
    """``JoinedRowLoader`` and ``prepared_cursor`` rebuild ``select_related`` and Django's cursor
    creation on private APIs (``_prepare_cursor``, ``set_cached_value``, ``get_col``,
    ``ServerBindingCursor``): kept because they save a measured share of the page's and the
    create's CPU (docs/benchmarks.md). A Django upgrade fails here first: re-run this module
    and bench/bench_page.py against the new version, then move the pin."""
    import django

    assert django.VERSION[:2] == (5, 2), "re-check core.db against this Django, then move the pin"
