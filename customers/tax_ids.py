"""Tax ids checked by their format and check digits (python-stdnum), offline.

Only what the number itself says is checked: its country's format and checksum. Whether the
number is registered (VIES, HMRC) needs a network call, which never happens on the request
path; a merchant who needs it checks asynchronously.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_noop
from stdnum.au import abn as au_abn
from stdnum.ca import bn as ca_bn
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.gb import vat as gb_vat
from stdnum.in_ import gstin as in_gst
from stdnum.us import ein as us_ein

# type → (stdnum module, why a number is refused). The message is English for the API and
# marked for translation: the hosted page's form shows it translated (checkout.forms).
_CHECKERS = {
    "eu_vat": (eu_vat, gettext_noop("This is not a valid number for an EU VAT number (for example DE136695976).")),
    "gb_vat": (gb_vat, gettext_noop("This is not a valid number for a UK VAT number (for example GB980780684).")),
    "us_ein": (us_ein, gettext_noop("This is not a valid number for a US EIN (for example 04-2103594).")),
    "ca_bn": (ca_bn, gettext_noop("This is not a valid number for a Canadian business number "
                                  "(for example 123456782).")),
    "au_abn": (au_abn, gettext_noop("This is not a valid number for an Australian ABN "
                                    "(for example 51 824 753 556).")),
    "in_gst": (in_gst, gettext_noop("This is not a valid number for an Indian GSTIN (for example 27AAPFU0939F1ZV).")),
    "ch_vat": (ch_vat, gettext_noop("This is not a valid number for a Swiss VAT number "
                                    "(for example CHE-109.322.551 MWST).")),
}
CHECKED_TYPES = frozenset(_CHECKERS)
# EU VAT numbers start with the member state's code; Greece's is EL, not its ISO code GR.
_VAT_PREFIX = {"GR": "EL"}


@dataclass(frozen=True)
class TaxIdCheck:
    value: str  # compacted (spaces and separators removed) when it is valid
    problem: str | None  # why it is not valid, for people; None when it is


def tax_id_check(tax_type: str, value: str, *, country: str | None = None) -> TaxIdCheck:
    """Check ``value`` as a tax id of ``tax_type``; types without a checker (``other``) pass as
    given. An EU VAT number typed without its country prefix takes the billing country's."""
    value = (value or "").strip()
    checker = _CHECKERS.get(tax_type)
    if checker is None:
        return TaxIdCheck(value, None)
    module, problem = checker
    candidate = value
    if tax_type == "eu_vat" and country and candidate[:2].isdigit():
        candidate = _VAT_PREFIX.get(country.upper(), country.upper()) + candidate
    try:
        compact = module.validate(candidate)
        if tax_type == "gb_vat" and not compact.startswith("GB"):
            compact = "GB" + compact  # stdnum drops it; a UK VAT number is written with it
        return TaxIdCheck(compact, None)
    except ValidationError:
        return TaxIdCheck(value, problem)
