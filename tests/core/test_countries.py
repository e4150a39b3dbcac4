"""One country list for the API, the hosted page's form and its address lines."""

from checkout.forms import ConfirmForm
from core.countries import country_codes, country_name, country_names


def _form_country_error(code):
    form = ConfirmForm(
        {"customer_name": "A", "email": "a@example.com", "line1": "1 St", "city": "X", "country": code},
        guest=True, payment_required=False, invoice_allowed=False,
    )
    form.is_valid()
    return form.errors.get("country")


def test_codes_are_countries_only():
    codes = country_codes()
    assert {"US", "DE", "XK"} <= codes
    assert not {"EU", "UN", "XA", "XB", "ZZ", "001"} & codes
    assert len(codes) > 240


def test_the_form_accepts_exactly_the_apis_codes():
    assert _form_country_error("XK") is None
    assert _form_country_error("XA") is not None


def test_names_follow_the_locale():
    assert country_name("de", "de_DE") == "Deutschland"
    assert country_name("DE", "en_US") == "Germany"
    assert country_name("EU", "en_US") == "EU"  # not a country: the code as given
    assert [code for code, _name in country_names("xx_INVALID")][:1]  # falls back to English
