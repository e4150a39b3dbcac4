"""Bound serializer field trees, built once per thread and serializer class, and frozen.

Building the bound field tree (nested serializers included) was the largest part of validating a
create: DRF deep-copies every declared field for every serializer instance, then binds them
(``bench/bench_validation.py``: 244 µs per create body with a reused tree, 982 µs building it
every time). So a root serializer without context and not partial reuses one tree per thread and
class, bound to a template instance: validation keeps no state on fields, and what fields read
from their root (``context``, ``partial``) is the same on the template (empty, False).

A reused tree must never carry one request's change into the next, so it is frozen: setting or
deleting an attribute of any field in it, or adding or removing a field, raises
``FrozenFieldTree`` at once. A serializer that customises its fields per request builds its own
tree (give it ``context`` or ``partial=True``).

DRF internals this module relies on (``tests/checkout/api/test_field_tree.py`` fails loudly if an
upgrade changes them): ``Field._args``/``Field._kwargs`` (the constructor arguments, kept for
``__deepcopy__``), ``Field.validators`` caching itself in ``_validators``,
``Serializer._declared_fields``, ``BaseSerializer._context`` and
``rest_framework.utils.serializer_helpers.BindingDict``.
"""

import threading
from functools import cache

from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict


class FrozenFieldTree(TypeError):
    """A field of a shared, reused field tree was about to be changed."""


def field_clone(field: serializers.Field) -> serializers.Field:
    """A fresh, unbound copy of a declared field: what DRF's ``Field.__deepcopy__`` does, minus
    deep-copying plain arguments (help texts, choices, defaults), which ``__init__`` copies
    where it needs to. Nested fields (a ``child``, a nested serializer) are cloned in turn."""
    args = [field_clone(a) if isinstance(a, serializers.Field) else a for a in field._args]
    kwargs = {k: field_clone(v) if isinstance(v, serializers.Field) else v for k, v in field._kwargs.items()}
    return field.__class__(*args, **kwargs)


def fields_build(serializer: serializers.Serializer) -> BindingDict:
    fields = BindingDict(serializer)
    for key, value in serializer.get_fields().items():
        fields[key] = value
    return fields


# --- freezing ----------------------------------------------------------------------------------

_FROZEN = "_field_tree_frozen"


def _refuse(self, name, *value):
    if self.__dict__.get(_FROZEN):
        raise FrozenFieldTree(
            f"{type(self).__name__}.{name}: this field belongs to a field tree reused by every request on the "
            "thread; customise fields on a serializer built with context or partial=True."
        )
    if value:
        object.__setattr__(self, name, *value)
    else:
        object.__delattr__(self, name)


@cache
def _frozen_class(cls: type) -> type:
    """``cls`` with attribute changes refused on frozen instances (one subclass per field
    class); same name, so the schema and error messages never see the difference."""
    return type(cls.__name__, (cls,), {
        "__setattr__": lambda self, name, value: _refuse(self, name, value),
        "__delattr__": lambda self, name: _refuse(self, name),
        "__qualname__": cls.__qualname__,
        "__module__": cls.__module__,
    })


class _FrozenBindingDict(BindingDict):
    def __setitem__(self, key, field):
        raise FrozenFieldTree(f"fields[{key!r}]: the field tree is reused by every request on the thread.")

    def __delitem__(self, key):
        raise FrozenFieldTree(f"fields[{key!r}]: the field tree is reused by every request on the thread.")


def _freeze(field: serializers.Field) -> None:
    field.validators  # noqa: B018 — DRF caches them on first read: read them before freezing
    if isinstance(field, serializers.Serializer):
        for child in field.fields.values():
            _freeze(child)
        field.fields.__class__ = _FrozenBindingDict
    child = getattr(field, "child", None)
    if isinstance(child, serializers.Field):
        _freeze(child)
    if not field.__dict__.get(_FROZEN):
        field.__class__ = _frozen_class(type(field))
        field.__dict__[_FROZEN] = True


# --- the per-thread cache --------------------------------------------------------------------

_trees = threading.local()


def shared_fields(cls: type) -> BindingDict:
    """The frozen field tree of root serializer class ``cls`` for this thread."""
    by_class = getattr(_trees, "by_class", None)
    if by_class is None:
        by_class = _trees.by_class = {}
    tree = by_class.get(cls)
    if tree is None:
        template = cls()
        tree = fields_build(template)
        for field in tree.values():
            _freeze(field)
        tree.__class__ = _FrozenBindingDict
        by_class[cls] = tree
    return tree
