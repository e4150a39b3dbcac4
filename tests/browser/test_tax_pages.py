"""EU VAT on the hosted page in a real browser (Debian's Chromium), issue #27: a German business
with a valid VAT number buying from a French seller sees the reverse-charge total and note,
pays, and gets the numbered invoice as a PDF from the thank-you page. The PDF's first page is
rendered with pdftoppm to docs/screenshots/invoice-pdf.png."""

import io
import re
import shutil
import subprocess
from decimal import Decimal
from urllib.parse import urljoin

import pytest
from pypdf import PdfReader

from billing.enums import PricingModel
from billing.models import Invoice
from checkout.models import CheckoutSession
from tests.billing.factories import PlanFactory, PlanItemFactory
from tests.browser.conftest import SCREENSHOTS
from tests.core.factories import BusinessEntityFactory, OrganizationFactory
from tests.customers.factories import CustomerFactory
from tests.helpers import api_client_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAY = re.compile(r"^Pay ")


@pytest.fixture
def reverse_charge_session(live_server, settings) -> dict:
    settings.PUBLIC_BASE_URL = live_server.url
    org = OrganizationFactory(name="Acme SAS")
    entity = BusinessEntityFactory(
        organization=org, name="Acme SAS", email="factures@acme.example", default_currency="EUR",
        address={"line1": "8 rue de la Paix", "city": "Paris", "zip_code": "75002", "country": "FR"},
        tax_id="FR40303265045", invoice_prefix="ACME-", tax_rate=None, is_default=True,
        bank_details="Acme SAS\nIBAN FR76 3000 6000 0112 3456 7890 189\nBIC AGRIFRPP")
    plan = PlanFactory(organization=org, name="Team", code="team", currency="EUR")
    PlanItemFactory(plan=plan, default_quantity=4, pricing__currency="EUR", pricing__product__name="Seats",
                    pricing__product__description="Named user seats.",
                    pricing__pricing_model=PricingModel.PER_UNIT, pricing__unit_amount=Decimal("25.00"))
    customer = CustomerFactory(
        organization=org, business_entity=entity, customer_name="Beta GmbH", email="ap@beta.example",
        address={"line1": "Unter den Linden 1", "city": "Berlin", "zip_code": "10117", "country": "DE"},
        tax_info=[{"type": "eu_vat", "value": "DE136695976"}])
    response = api_client_for(org).post("/api/v1/checkout-sessions", {
        "plan_id": str(plan.id), "customer_id": str(customer.id), "start_date": "2027-01-15",
        "success_url": f"{live_server.url}/done"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_reverse_charge_total_on_the_page_and_numbered_pdf_after_paying(page, reverse_charge_session, shoot):
    created = reverse_charge_session
    current = created["estimates"]["current_invoice"]
    assert (current["subtotal"], current["tax"], current["total"], current["tax_reason"]) == (
        "100.00", "0.00", "100.00", "reverse_charge")

    page.goto(created["url"])
    assert page.get_by_test_id("amount-due").inner_text() == "€100.00"
    summary = page.locator("section.invoice").first
    assert summary.get_by_role("row", name=re.compile(r"VAT 0% \(reverse charge\)")).inner_text().endswith("€0.00")
    assert summary.locator("tr.total").inner_text().replace("\t", " ").split() == ["Total", "€100.00"]
    note = page.get_by_test_id("tax-note").first
    assert note.is_visible()
    assert note.inner_text().startswith("Reverse charge: VAT to be accounted for by the recipient")
    shoot(page, "reverse-charge")

    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name=PAY).click()
    page.wait_for_url(re.compile(r".*/done$"))

    session = CheckoutSession.objects.get(pk=created["id"])
    invoice = Invoice.objects.get(checkout_session=session)
    assert (invoice.number, invoice.total, invoice.tax_reason) == ("ACME-000001", Decimal("100.00"), "reverse_charge")

    page.goto(created["url"])
    assert page.get_by_test_id("invoice-number").inner_text() == "ACME-000001"
    assert str(invoice.pk) not in page.content()
    link = page.get_by_test_id("invoice-pdf")
    assert link.inner_text() == "Download the receipt (PDF)"
    shoot(page, "reverse-charge-completed")
    pdf = page.request.get(urljoin(page.url, link.get_attribute("href")))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    for expected in ("Receipt ACME-000001", "€100.00", "VAT 0% (reverse charge)", "DE136695976", "FR40303265045",
                     "Reverse charge: VAT to be accounted for by the recipient"):
        assert expected in text, (expected, text)

    if shutil.which("pdftoppm"):  # poppler-utils, installed by scripts/browser-deps.sh
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        pdf_path = SCREENSHOTS / "invoice.pdf"
        pdf_path.write_bytes(pdf.body())
        try:
            subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf_path),
                            str(SCREENSHOTS / "invoice-pdf")], check=True, timeout=60)
        finally:
            pdf_path.unlink()
        assert (SCREENSHOTS / "invoice-pdf.png").stat().st_size > 10_000
