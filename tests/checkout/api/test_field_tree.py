"""The reused, frozen serializer field tree: a per-request change to a field can never reach the
next request on the thread (it raises instead), and the DRF internals it relies on still exist."""

import threading

import pytest
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from checkout.api.field_tree import FrozenFieldTree, shared_fields
from checkout.api.serializers import CheckoutSessionCreateSerializer, StrictSerializer, StringField


class Toy(StrictSerializer):
    """A serializer that customises a field per request: the trap the frozen tree closes."""

    name = StringField()
    note = StringField(required=False)

    def __init__(self, *args, name_optional=False, **kwargs):
        super().__init__(*args, **kwargs)
        if name_optional:
            self.fields["name"].required = False


def test_changing_a_field_of_the_shared_tree_raises_and_leaks_nothing():
    with pytest.raises(FrozenFieldTree):
        Toy(data={}, name_optional=True)

    later = Toy(data={})  # the next request on this thread
    assert not later.is_valid()
    assert later.errors["name"][0].code == "field_required"


def test_adding_or_removing_fields_of_the_shared_tree_raises():
    toy = Toy(data={"name": "a"})
    with pytest.raises(FrozenFieldTree):
        toy.fields["extra"] = StringField()
    with pytest.raises(FrozenFieldTree):
        del toy.fields["note"]
    with pytest.raises(FrozenFieldTree):
        del toy.fields["name"].required
    assert list(Toy().fields) == ["name", "note"]


def test_nested_fields_and_children_are_frozen_too():
    fields = CheckoutSessionCreateSerializer().fields
    with pytest.raises(FrozenFieldTree):
        fields["customer"].fields["email"].required = True
    with pytest.raises(FrozenFieldTree):
        fields["product_overrides"].child.fields["quantity"].max_value = 1


def test_a_serializer_with_context_or_partial_customises_its_own_tree():
    optional = Toy(data={}, name_optional=True, context={"request": None})
    assert optional.is_valid(), optional.errors
    partial = Toy(data={}, partial=True)
    partial.fields["note"].max_length = 3
    assert Toy(data={"name": "a", "note": "longer"}).is_valid()  # the shared tree is untouched


def test_each_thread_has_its_own_tree_and_validation_still_works():
    trees = []
    thread = threading.Thread(target=lambda: trees.append(shared_fields(Toy)))
    thread.start()
    thread.join()
    assert trees[0] is not shared_fields(Toy)
    assert shared_fields(Toy) is shared_fields(Toy)
    assert Toy(data={"name": "Ada"}).is_valid()


def test_the_drf_internals_the_field_tree_relies_on_still_exist():
    """Fails on a DRF upgrade that changes them: then checkout/api/field_tree.py needs a look."""
    field = serializers.CharField(max_length=3, help_text="x")
    assert field._args == () and field._kwargs == {"max_length": 3, "help_text": "x"}
    lazy = serializers.BooleanField()
    assert "_validators" not in lazy.__dict__
    lazy.validators  # noqa: B018 — read once, cached on the field (so it is read before freezing)
    assert "_validators" in lazy.__dict__
    assert set(Toy._declared_fields) == {"name", "note"}
    assert Toy(context={"a": 1})._context == {"a": 1}
    assert issubclass(BindingDict, object) and hasattr(BindingDict(Toy()), "fields")
