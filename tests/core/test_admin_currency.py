"""Ops cannot type a non-money ISO-4217 code (XAU, XTS, XXX…) as a business entity's currency
in admin (issue #11: refused everywhere a currency is accepted). Contracts have no currency field
to type into any more: they are read-only in admin (issue #29, tests/test_admin_history.py)."""

import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from core.models import BusinessEntity


class _Ops:
    is_active = is_staff = is_superuser = True

    def has_perm(self, *args):
        return True


def _form(model):
    request = RequestFactory().get("/")
    request.user = _Ops()
    return site._registry[model].get_form(request)


@pytest.mark.parametrize(("model", "field"), [(BusinessEntity, "default_currency")])
@pytest.mark.parametrize("code", ["XAU", "XTS", "XXX"])
def test_admin_currency_field_non_money_code_refused(model, field, code):
    form = _form(model)
    with pytest.raises(ValidationError):
        form.base_fields[field].clean(code)


@pytest.mark.parametrize(("model", "field"), [(BusinessEntity, "default_currency")])
def test_admin_currency_field_real_x_currency_accepted(model, field):
    form = _form(model)
    assert form.base_fields[field].clean("XOF") == "XOF"
