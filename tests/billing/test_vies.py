"""The optional VIES check (billing.vies) against a small local HTTP server standing in for the
EU's REST service: valid, invalid, an error answer, a 500 and a timeout; positive answers cached
for a day; with VIES_CHECK_ENABLED off (the default) no request at all. End to end: a checkout
whose VAT number VIES cannot confirm is charged VAT and says ``vat_unverified`` on the session's
estimate, the contract and the invoice."""

import datetime
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core.cache import cache

from billing import vies
from billing.enums import PricingModel
from billing.models import Contract, Invoice
from billing.tax import OUTSIDE_EU_NOTE, TaxReason, tax_decide
from billing.vies import ReverseChargeVatId, ViesAnswer, vat_id_for_reverse_charge, vies_check
from checkout.errors import TaxChanged
from checkout.models import CheckoutSession
from checkout.services.confirm import checkout_session_confirm
from tests.checkout.pages.helpers import card, plan_with
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import api_client_for

VALID_DE = "DE136695976"
VALID_FR = "FR40303265045"
PARIS = {"line1": "8 rue de la Paix", "city": "Paris", "zip_code": "75002", "country": "FR"}
BERLIN = {"line1": "Unter den Linden 1", "city": "Berlin", "zip_code": "10117", "country": "DE"}


class StandIn:
    """What the fake VIES answers next (``mode``), and every request body it was sent."""

    def __init__(self):
        self.mode = "valid"
        self.requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/taxation_customs/vies/rest-api/check-vat-number"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.requests.append({"path": self.path, "content_type": self.headers["Content-Type"], **body})
                mode = stand_in.mode
                if mode == "timeout":
                    time.sleep(1.0)
                if mode == "500":
                    return self._send(500, {"errorWrappers": [{"error": "SERVICE_UNAVAILABLE"}]})
                if mode == "error":  # the member state's registry is down: 200, but no verdict
                    return self._send(200, {"actionSucceed": False,
                                            "errorWrappers": [{"error": "MS_UNAVAILABLE"}], "valid": False})
                return self._send(200, {"countryCode": body["countryCode"], "vatNumber": body["vatNumber"],
                                        "requestDate": "2026-01-15T10:00:00.000Z", "valid": mode == "valid",
                                        "name": "Beta GmbH" if mode == "valid" else "---"})

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in(settings, monkeypatch):
    server = StandIn()
    settings.VIES_URL = server.url
    settings.VIES_CHECK_ENABLED = True
    monkeypatch.setattr(vies, "VIES_TIMEOUT_SECONDS", 0.3)  # the timeout case waits 1 s
    for vat_id in (VALID_DE, VALID_FR):
        cache.delete(f"vies:{vat_id}")
    yield server
    server.close()
    for vat_id in (VALID_DE, VALID_FR):
        cache.delete(f"vies:{vat_id}")


def test_vies_check_valid_number_is_asked_once_and_cached(stand_in):
    assert vies_check(VALID_DE) == ViesAnswer.VALID
    assert stand_in.requests == [{"path": "/taxation_customs/vies/rest-api/check-vat-number",
                                  "content_type": "application/json", "countryCode": "DE", "vatNumber": "136695976"}]

    stand_in.mode = "500"  # answered from the cache for a day: VIES is not asked again
    assert vies_check(VALID_DE) == ViesAnswer.VALID
    assert len(stand_in.requests) == 1
    assert 23 * 3600 < _ttl(f"vies:{VALID_DE}") <= 24 * 3600


def _ttl(key: str) -> float:
    """Seconds the cache keeps ``key``: Redis's TTL, or the local-memory cache's expiry."""
    full_key = cache.make_and_validate_key(key)
    if hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):
        return cache._cache.get_client(full_key).ttl(full_key)
    return cache._expire_info[full_key] - time.time()


def test_vies_check_invalid_number_is_invalid_for_a_minute(stand_in):
    stand_in.mode = "invalid"
    assert vies_check(VALID_DE) == ViesAnswer.INVALID
    assert vies_check(VALID_DE) == ViesAnswer.INVALID
    assert len(stand_in.requests) == 1
    assert 0 < _ttl(f"vies:{VALID_DE}") <= 60


@pytest.mark.parametrize("mode", ["500", "error", "timeout"])
def test_vies_check_without_an_answer_is_unavailable_for_a_minute(stand_in, mode):
    stand_in.mode = mode
    started = time.monotonic()
    assert vies_check(VALID_DE) == ViesAnswer.UNAVAILABLE
    assert time.monotonic() - started < 0.9  # the short timeout, not the server's 1 s
    stand_in.mode = "valid"
    assert vies_check(VALID_DE) == ViesAnswer.UNAVAILABLE  # the next checkouts do not wait again…
    assert len(stand_in.requests) == 1 and 0 < _ttl(f"vies:{VALID_DE}") <= 60
    cache.delete(f"vies:{VALID_DE}")  # …for a minute
    assert vies_check(VALID_DE) == ViesAnswer.VALID


def test_vies_check_unreachable_is_unavailable(stand_in, settings):
    settings.VIES_URL = "http://127.0.0.1:9/check-vat-number"  # the discard port: refused
    assert vies_check(VALID_DE) == ViesAnswer.UNAVAILABLE


@pytest.mark.parametrize(("mode", "expected"), [
    ("valid", ReverseChargeVatId(VALID_DE)),
    ("invalid", ReverseChargeVatId(None)),
    ("500", ReverseChargeVatId(None, unverified=True)),
    ("timeout", ReverseChargeVatId(None, unverified=True)),
])
def test_reverse_charge_uses_the_number_only_when_vies_confirms_it(stand_in, mode, expected):
    stand_in.mode = mode
    assert vat_id_for_reverse_charge(seller_country="FR", vat_id=VALID_DE) == expected


@pytest.mark.parametrize(("seller", "vat_id"), [
    ("FR", VALID_FR),  # the seller's own member state: domestic VAT whatever VIES says
    ("US", VALID_DE),  # a seller outside the EU: its flat rate
    ("FR", None),  # a consumer
])
def test_vies_is_not_asked_when_the_number_cannot_make_a_reverse_charge(stand_in, seller, vat_id):
    assert vat_id_for_reverse_charge(seller_country=seller, vat_id=vat_id) == ReverseChargeVatId(vat_id)
    assert stand_in.requests == []


def test_vies_off_by_default_makes_no_request(stand_in, settings):
    settings.VIES_CHECK_ENABLED = False
    stand_in.mode = "invalid"
    assert vat_id_for_reverse_charge(seller_country="FR", vat_id=VALID_DE) == ReverseChargeVatId(VALID_DE)
    assert stand_in.requests == []


def test_the_setting_defaults_to_off():
    from config import settings as config_settings  # noqa: PLC0415

    assert config_settings.VIES_CHECK_ENABLED is False  # the test environment sets no VIES_CHECK_ENABLED
    assert config_settings.VIES_URL == "https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number"


# --- end to end: the checkout ------------------------------------------------------------------


def _sell_to_a_german_business():
    """A French seller's checkout for a German business with a VAT number, confirmed by card:
    (session, invoice, contract)."""
    with time_machine.travel(datetime.datetime(2026, 1, 15, 10, tzinfo=datetime.UTC), tick=False):
        organization = OrganizationFactory()
        entity = BusinessEntityFactory(organization=organization, name="Acme SAS", address=PARIS,
                                       tax_id=VALID_FR, invoice_prefix="ACME-", default_currency="EUR")
        plan, _priced = plan_with(organization, "EUR", ({"pricing_model": PricingModel.FLAT_FEE,
                                                         "unit_amount": Decimal("100.00"), "product__name": "Pro"}, 1))
        customer = CustomerFactory(organization=organization, business_entity=entity, customer_name="Beta GmbH",
                                   address=BERLIN, tax_info=[{"type": "eu_vat", "value": VALID_DE}])
        body = {"plan_id": str(plan.pk), "customer_id": str(customer.pk), "start_date": "2026-01-15",
                "success_url": "https://merchant.example/ok"}
        response = api_client_for(organization).post("/api/v1/checkout-sessions", data=json.dumps(body),
                                                     content_type="application/json")
        assert response.status_code == 201, response.content
        session = CheckoutSession.objects.get(pk=response.json()["id"])
        result = checkout_session_confirm(session_id=session.pk, card=card())
        return session, Invoice.objects.get(pk=result.invoice.pk), Contract.objects.get(pk=result.contract.pk)


def _taxed(session, invoice, contract):
    current = session.estimates["current_invoice"]
    return (current["tax_rate"], current["tax_reason"], invoice.tax, invoice.total, invoice.tax_reason,
            contract.tax_reason)


@pytest.mark.django_db
def test_checkout_when_vies_cannot_answer_charges_vat_and_records_the_number_unverified(stand_in):
    stand_in.mode = "timeout"
    session, invoice, contract = _sell_to_a_german_business()
    assert _taxed(session, invoice, contract) == ("19", TaxReason.VAT_ID_UNVERIFIED, Decimal("19.00"),
                                                  Decimal("119.00"), TaxReason.VAT_ID_UNVERIFIED,
                                                  TaxReason.VAT_ID_UNVERIFIED)
    assert [(r["countryCode"], r["vatNumber"]) for r in stand_in.requests] == [("DE", "136695976")]


@pytest.mark.django_db
def test_checkout_when_vies_confirms_the_number_is_a_reverse_charge(stand_in):
    session, invoice, contract = _sell_to_a_german_business()
    assert _taxed(session, invoice, contract) == ("0", TaxReason.REVERSE_CHARGE, Decimal("0.00"), Decimal("100.00"),
                                                  TaxReason.REVERSE_CHARGE, TaxReason.REVERSE_CHARGE)


@pytest.mark.django_db
def test_checkout_when_vies_says_invalid_charges_the_buyers_vat(stand_in):
    stand_in.mode = "invalid"
    session, invoice, contract = _sell_to_a_german_business()
    assert _taxed(session, invoice, contract) == ("19", TaxReason.DESTINATION, Decimal("19.00"), Decimal("119.00"),
                                                  TaxReason.DESTINATION, TaxReason.DESTINATION)


@pytest.mark.django_db
def test_checkout_with_vies_off_reverse_charges_on_the_check_digits_alone(stand_in, settings):
    settings.VIES_CHECK_ENABLED = False
    stand_in.mode = "invalid"
    session, invoice, contract = _sell_to_a_german_business()
    assert _taxed(session, invoice, contract)[:2] == ("0", TaxReason.REVERSE_CHARGE)
    assert stand_in.requests == []


@pytest.mark.parametrize(("seller", "buyer", "rate", "reason"), [
    ("FR", "DE", Decimal("19"), TaxReason.VAT_ID_UNVERIFIED),  # the buyer's rate, as a consumer's
    ("FR", "FR", Decimal("20"), TaxReason.VAT_ID_UNVERIFIED),  # a German number, a French address
    ("FR", None, Decimal("20"), TaxReason.VAT_ID_UNVERIFIED),
    ("FR", "US", Decimal("0"), TaxReason.OUTSIDE_EU),  # no EU VAT either way
    ("US", "DE", Decimal("8.25"), TaxReason.FLAT),  # a seller outside the EU: its flat rate
])
def test_tax_decide_with_an_unverified_number_charges_vat_and_says_so(seller, buyer, rate, reason):
    decision = tax_decide(seller_country=seller, flat_rate=Decimal("8.25"), buyer_country=buyer,
                          buyer_vat_id=None, vat_id_unverified=True)
    assert (decision.rate, decision.reason, decision.reverse_charge) == (rate, reason, False)
    assert decision.note == ("" if reason != TaxReason.OUTSIDE_EU else OUTSIDE_EU_NOTE)


@pytest.mark.django_db
def test_guest_typing_a_vat_number_vies_cannot_confirm_pays_vat_and_it_is_recorded(stand_in):
    """The hosted page's guest: the number typed at confirm is asked about then (inside the
    confirm); without an answer the guest is charged the VAT of their country, told the new total
    first (tax_changed) as for any typed change, and the invoice says vat_unverified."""
    stand_in.mode = "500"
    with time_machine.travel(datetime.datetime(2026, 1, 15, 10, tzinfo=datetime.UTC), tick=False):
        organization = OrganizationFactory()
        entity = BusinessEntityFactory(organization=organization, address=PARIS, tax_id=VALID_FR,
                                       invoice_prefix="ACME-", default_currency="EUR")
        plan, _priced = plan_with(organization, "EUR", ({"pricing_model": PricingModel.FLAT_FEE,
                                                         "unit_amount": Decimal("100.00")}, 1))
        body = {"plan_id": str(plan.pk), "start_date": "2026-01-15", "success_url": "https://merchant.example/ok",
                "guest_checkout": True, "business_entity_id": str(entity.pk),
                "customer": {"customer_name": "Beta GmbH", "email": "ap@beta.example"}}
        response = api_client_for(organization).post("/api/v1/checkout-sessions", data=json.dumps(body),
                                                     content_type="application/json")
        assert response.status_code == 201, response.content
        session_id = response.json()["id"]
        typed = {"customer_name": "Beta GmbH", "email": "ap@beta.example", "address": BERLIN,
                 "tax_info": [{"type": "eu_vat", "value": "DE 136 695 976"}]}

        with pytest.raises(TaxChanged):  # priced at home (FR 20 %) until the country was known
            checkout_session_confirm(session_id=session_id, card=card(), customer_details=typed)
        current = CheckoutSession.objects.get(pk=session_id).estimates["current_invoice"]
        assert (current["total"], current["tax_reason"]) == ("119.00", TaxReason.VAT_ID_UNVERIFIED)

        stand_in.mode = "valid"  # back within the minute: the same answer, the total the guest was shown
        result = checkout_session_confirm(session_id=session_id, card=card(), customer_details=typed)

    assert result.outcome == "completed"
    invoice = Invoice.objects.get(pk=result.invoice.pk)
    assert (invoice.total, invoice.tax, invoice.tax_reason) == (Decimal("119.00"), Decimal("19.00"),
                                                                TaxReason.VAT_ID_UNVERIFIED)
    assert len(stand_in.requests) == 1
