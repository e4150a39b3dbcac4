"""Forms of the hosted page: shapes only. Rules that involve the session live in the
confirm service (``checkout.services.confirm``)."""

import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from django import forms
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _

from billing.enums import PaymentMethod
from billing.gateway import CardDetails, luhn_valid
from core.countries import country_codes, country_names
from customers.tax_ids import tax_id_check

TAX_ID_TYPES = [
    ("", _("Choose a type")),
    ("eu_vat", _("EU VAT number")),
    ("gb_vat", _("UK VAT number")),
    ("us_ein", _("US EIN")),
    ("ca_bn", _("Canadian BN")),
    ("au_abn", _("Australian ABN")),
    ("in_gst", _("Indian GSTIN")),
    ("ch_vat", _("Swiss VAT number")),
    ("other", _("Other")),
]
TAX_ID_TYPE_VALUES = {value for value, _label in TAX_ID_TYPES if value}


def country_choices() -> list[tuple[str, str]]:
    return [("", _("Choose a country")), *country_names(to_locale(get_language() or "en"))]


def attrs_html(attrs: dict) -> str:
    """HTML attributes exactly as Django's ``flatatt`` writes them (valued ones sorted, then
    bare booleans sorted), escaped with the standard library: ``flatatt`` escapes through
    ``format_html``, whose lazy-string checks cost more than the escaping on a page of inputs."""
    valued = sorted((key, value) for key, value in attrs.items() if not isinstance(value, bool) and value is not None)
    flags = sorted(key for key, value in attrs.items() if value is True)
    return "".join(f' {key}="{escape(str(value))}"' for key, value in valued) + "".join(f" {key}" for key in flags)


class Select(forms.Select):
    """A small ``<select>`` rendered in Python (same markup, no template render per option)."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        attrs["name"] = name
        options = options_html(self.choices, "" if value is None else str(value))
        return mark_safe(f"<select{attrs_html(attrs)}>{options}</select>")


class CountrySelect(forms.Select):
    """The country list (~250 options) rendered from HTML cached per language and selection.

    Django renders every option through a template; for this list that was most of the
    page's render time. The markup is the same as Django's ``Select``.
    """

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        attrs["name"] = name
        language = get_language() or "en"
        code = str(value or "").upper()
        selected = code if code in _country_codes(language) else ""
        return mark_safe(f"<select{attrs_html(attrs)}>{_country_options(language, selected)}</select>")


@lru_cache(maxsize=1024)
def _country_options(language: str, selected: str) -> str:
    return options_html(country_choices(), selected)


@lru_cache(maxsize=8)
def _country_codes(language: str) -> frozenset[str]:
    return frozenset(code for code, _name in country_choices())


def options_html(choices, selected: str) -> str:
    """``<option>`` elements as Django's ``Select`` writes them, ``selected`` marked."""
    return "".join(
        f'<option value="{escape(str(choice))}"{" selected" if str(choice) == selected else ""}>'
        f"{escape(str(label))}</option>"
        for choice, label in choices
    )


class FastInputMixin:
    """Renders ``<input>`` in Python: the same markup as Django's input template, without a
    template render per field (the page has a dozen inputs)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        html = f'<input type="{escape(widget["type"])}" name="{escape(name)}"'
        if widget["value"] is not None:
            html += f' value="{escape(str(widget["value"]))}"'
        return mark_safe(f"{html}{attrs_html(widget['attrs'])}>")


class TextInput(FastInputMixin, forms.TextInput):
    pass


class EmailInput(FastInputMixin, forms.EmailInput):
    pass


class CardNumberInput(TextInput):
    """A text input that never echoes its value (card number, CVC) back into the page."""

    def format_value(self, value):
        return None


class ConsentCheckbox(forms.CheckboxInput):
    """Ticked only when the box's own value comes back: the page's checkbox has no ``value``,
    so a browser sends ``on``. Django's CheckboxInput counts any other non-empty value (``x``,
    a NUL byte) as agreement; a hand-made POST must not consent for the customer."""

    def value_from_datadict(self, data, files, name):
        return data.get(name) == "on"


@dataclass(frozen=True)
class PaymentChoice:
    method: str
    card: CardDetails | None = None
    # Hosted card fields (Stripe.js): the payment method id the browser got for the card.
    payment_method_id: str = ""


class ConfirmForm(forms.Form):
    """Everything the "Pay"/"Confirm" button submits.

    Fields depend on the session: the customer's details only for guest sessions, the
    payment fields only when money is due, "pay by invoice" only where the business
    entity allows it.
    """

    # Customer's details (guest sessions)
    customer_name = forms.CharField(label=_("Full name"), max_length=200, widget=TextInput)
    email = forms.EmailField(label=_("Email"), max_length=254, widget=EmailInput)
    line1 = forms.CharField(label=_("Address"), max_length=200, widget=TextInput)
    line2 = forms.CharField(label=_("Address line 2 (optional)"), max_length=200, required=False, widget=TextInput)
    city = forms.CharField(label=_("City"), max_length=100, widget=TextInput)
    state = forms.CharField(label=_("State or region (optional)"), max_length=100, required=False,
                            widget=TextInput)
    zip_code = forms.CharField(label=_("Postal code (optional)"), max_length=20, required=False, widget=TextInput)
    # Validated against the ISO list in clean_country; the widget renders the cached options.
    country = forms.CharField(label=_("Country"), max_length=2, widget=CountrySelect)
    tax_id_type = forms.ChoiceField(label=_("Tax ID type (optional)"), choices=TAX_ID_TYPES, required=False,
                                    widget=Select)
    tax_id = forms.CharField(label=_("Tax ID (optional)"), max_length=64, required=False, widget=TextInput)

    # Payment
    payment_method = forms.ChoiceField(label=_("Payment method"), widget=forms.RadioSelect)
    card_number = forms.CharField(
        label=_("Card number"), max_length=23, required=False,
        widget=CardNumberInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric",
                                      "placeholder": "1234 1234 1234 1234"}),
    )
    card_expiry = forms.CharField(
        label=_("Expiry date (MM/YY)"), max_length=7, required=False,
        widget=TextInput(attrs={"autocomplete": "cc-exp", "inputmode": "numeric", "placeholder": "MM/YY"}),
    )
    card_cvc = forms.CharField(
        label=_("Security code (CVC)"), max_length=4, required=False,
        widget=CardNumberInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric", "placeholder": "123"}),
    )

    # Consent (sessions that collect it): the template renders it, with a link to the terms.
    accept_terms = forms.BooleanField(label=_("I agree to the terms of service"), widget=ConsentCheckbox,
                                      error_messages={"required": _("Accept the terms of service to continue.")})

    GUEST_FIELDS = ("customer_name", "email", "line1", "line2", "city", "state", "zip_code", "country",
                    "tax_id_type", "tax_id")
    payment_method_id = forms.CharField(required=False, max_length=255, widget=forms.HiddenInput)

    CARD_FIELDS = ("card_number", "card_expiry", "card_cvc")
    PAYMENT_FIELDS = ("payment_method", *CARD_FIELDS, "payment_method_id")

    def __init__(self, *args, guest: bool, payment_required: bool, invoice_allowed: bool,
                 initial_details: dict | None = None, hosted_card_fields: bool = False,
                 terms_required: bool = False, card_setup: bool = False, card_available: bool = True, **kwargs):
        if initial_details and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from_details(initial_details)
        super().__init__(*args, **kwargs)
        self.guest = guest
        self.payment_required = payment_required
        # Nothing due today, but a card is saved for the renewals (a free trial): card only.
        self.card_setup = card_setup and not payment_required
        self.collects_card = payment_required or self.card_setup
        if not terms_required:
            del self.fields["accept_terms"]
        # Stripe: the card is typed into Stripe's own fields; only the id Stripe.js made for it
        # comes here, so our card inputs go.
        self.hosted_card_fields = hosted_card_fields and self.collects_card
        # No provider takes cards here (live mode without Stripe): no card inputs of ours, ever;
        # only what else is configured (pay by invoice) is offered.
        self.card_available = card_available or not self.collects_card
        if not self.card_available:
            for name in (*self.CARD_FIELDS, "payment_method_id"):
                del self.fields[name]
        else:
            for name in self.CARD_FIELDS if self.hosted_card_fields else ("payment_method_id",):
                del self.fields[name]
        if not guest:
            for name in self.GUEST_FIELDS:
                del self.fields[name]
        # Something the customer can pay with (False: nothing is configured; no Pay button).
        self.payable = True
        if self.collects_card:
            methods = [(PaymentMethod.CARD.value, _("Card"))] if self.card_available else []
            if invoice_allowed and payment_required:
                methods.append((PaymentMethod.INVOICE.value, _("Pay by invoice")))
            self.payable = bool(methods)
            self.fields["payment_method"].choices = methods
            self.fields["payment_method"].initial = methods[0][0] if methods else None
        else:
            for name in self.PAYMENT_FIELDS:
                self.fields.pop(name, None)
        autocomplete = {"customer_name": "name", "email": "email", "line1": "address-line1",
                        "line2": "address-line2", "city": "address-level2", "state": "address-level1",
                        "zip_code": "postal-code", "country": "country"}
        for name, token in autocomplete.items():
            if name in self.fields:
                self.fields[name].widget.attrs.setdefault("autocomplete", token)

    @staticmethod
    def initial_from_details(details: dict) -> dict:
        address = details.get("address") or {}
        tax = (details.get("tax_info") or [{}])[0] or {}
        initial = {
            "customer_name": details.get("customer_name") or "",
            "email": details.get("email") or "",
            "tax_id_type": tax.get("type") if tax.get("type") in TAX_ID_TYPE_VALUES else "",
            "tax_id": tax.get("value") or "",
        }
        for key in ("line1", "line2", "city", "state", "zip_code", "country"):
            initial[key] = address.get(key) or ""
        return initial

    # -- field cleaning --

    def clean_country(self):
        country = self.cleaned_data["country"].upper()
        if country not in country_codes():
            raise forms.ValidationError(_("Choose a country from the list."), code="invalid_choice")
        return country

    def clean_card_number(self):
        raw = self.cleaned_data.get("card_number") or ""
        number = re.sub(r"[\s-]", "", raw)
        if not number:
            return ""
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_valid(number):
            raise forms.ValidationError(_("Enter a valid card number."), code="invalid_card_number")
        return number

    def clean_card_expiry(self):
        raw = (self.cleaned_data.get("card_expiry") or "").strip()
        if not raw:
            return None
        # 12/30, 12 / 2030, or digits only (phone keypads have no slash): 1230, 122030.
        match = re.fullmatch(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})", raw) or re.fullmatch(r"(\d{2})(\d{2}|\d{4})", raw)
        if not match:
            raise forms.ValidationError(_("Enter the expiry date as MM/YY."), code="invalid_expiry")
        month, year = int(match.group(1)), int(match.group(2))
        if year < 100:
            year += 2000
        if not 1 <= month <= 12:
            raise forms.ValidationError(_("Enter the expiry date as MM/YY."), code="invalid_expiry")
        today = timezone.now().date()
        if (year, month) < (today.year, today.month):
            raise forms.ValidationError(_("This card has expired."), code="card_expired")
        if year > today.year + 25:
            raise forms.ValidationError(_("Enter a valid expiry year."), code="invalid_expiry")
        return (month, year)

    def clean_card_cvc(self):
        cvc = (self.cleaned_data.get("card_cvc") or "").strip()
        if cvc and not re.fullmatch(r"\d{3,4}", cvc):
            raise forms.ValidationError(_("Enter the 3 or 4 digits on the back of the card."), code="invalid_cvc")
        return cvc

    def clean(self):
        data = super().clean()
        if self.hosted_card_fields and data.get("payment_method") == PaymentMethod.CARD:
            # Nothing due today: the page confirmed a SetupIntent (seti_…) and sends its id.
            prefixes = "pm|card|src|seti" if self.card_setup else "pm|card|src"
            if not re.fullmatch(rf"({prefixes})_[A-Za-z0-9]{{1,200}}", data.get("payment_method_id") or ""):
                self.add_error(None, forms.ValidationError(_("Enter your card details."), code="required"))
        elif self.collects_card and data.get("payment_method") == PaymentMethod.CARD:
            missing = {
                "card_number": _("Enter your card number."),
                "card_expiry": _("Enter the card's expiry date."),
                "card_cvc": _("Enter the card's security code."),
            }
            for name, message in missing.items():
                if name not in self.errors and not data.get(name):
                    self.add_error(name, forms.ValidationError(message, code="required"))
        if self.guest and data.get("tax_id") and not data.get("tax_id_type"):
            self.add_error("tax_id_type", _("Choose the type of your tax ID."))
        elif self.guest and data.get("tax_id") and "tax_id" not in self.errors:
            check = tax_id_check(data["tax_id_type"], data["tax_id"], country=data.get("country"))
            if check.problem:
                self.add_error("tax_id", forms.ValidationError(_(check.problem), code="invalid_tax_id"))
            else:
                data["tax_id"] = check.value
        return data

    # -- results --

    def customer_details(self) -> dict | None:
        if not self.guest:
            return None
        data = self.cleaned_data
        address = {key: data[key].strip() for key in ("line1", "line2", "city", "state", "zip_code")
                   if data.get(key, "").strip()}
        address["country"] = data["country"]
        details = {
            "customer_name": data["customer_name"].strip(),
            "email": data["email"].strip(),
            "address": address,
            "tax_info": [],
        }
        if data.get("tax_id"):
            details["tax_info"] = [{"type": data["tax_id_type"], "value": data["tax_id"].strip()}]
        return details

    def payment_choice(self) -> PaymentChoice:
        if not self.collects_card:
            return PaymentChoice(PaymentMethod.NONE.value)
        data = self.cleaned_data
        if data["payment_method"] == PaymentMethod.CARD and self.hosted_card_fields:
            return PaymentChoice(PaymentMethod.CARD.value, payment_method_id=data["payment_method_id"])
        if data["payment_method"] == PaymentMethod.CARD:
            month, year = data["card_expiry"]
            card = CardDetails(number=data["card_number"], exp_month=month, exp_year=year, cvc=data["card_cvc"])
            return PaymentChoice(PaymentMethod.CARD.value, card)
        return PaymentChoice(data["payment_method"])


class PromotionCodeForm(forms.Form):
    """The promotion code box: the typed code, trimmed. ``CharField`` refuses a NUL byte (which
    PostgreSQL text cannot hold: it was a 500) as a field error; past 100 characters no code
    exists, so a longer one is looked up as its first 100 and refused as unknown."""

    promotion_code = forms.CharField(error_messages={"required": _("Enter a promotion code.")})

    def clean_promotion_code(self) -> str:
        return self.cleaned_data["promotion_code"][:100]
