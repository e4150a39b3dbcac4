"""Selling a contract the way a card checkout does, for the renewal and collection tests: the
estimate, the contract, the first invoice (paid), the renewal cursor, a saved test card."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.enums import InvoiceStatus, PaymentProviderName
from billing.estimates import Estimates, Quote, QuoteItem, QuotePhase, estimate_new_contract
from billing.gateway import SavedMethod
from billing.models import Contract, SavedPaymentMethod
from billing.payment_methods import saved_payment_method_attach
from billing.pricing import PriceTerms
from billing.renewals import contract_billing_start
from billing.services import contract_create_from_quote, invoice_create_from_estimate
from billing.signals import billing_events
from tests.billing.factories import ProductFactory


@dataclass
class Sold:
    contract: Contract
    estimates: Estimates
    method: SavedPaymentMethod | None


def monthly_item(product, amount="49.00", cadence="P1M", model="flat_fee", timing="in_advance", quantity=1):
    terms = PriceTerms(model, "recurring", cadence, timing, unit_amount=Decimal(amount))
    return QuoteItem(str(product.pk), product.name, "", quantity, terms)


def sell(customer, *, items=None, start=date(2027, 1, 31), currency="USD", tax_rate=None, trial_end=None,
         discount=None, end=None, behaviour="succeeds", livemode=False) -> Sold:
    """A contract as a card checkout on ``start`` leaves it; ``behaviour`` is the saved test
    card's (``succeeds``, ``charges_fail``, ``authentication_required``, ``settles_later``; None:
    no card saved)."""
    if items is None:
        items = [monthly_item(ProductFactory(organization=customer.organization))]
    quote = Quote(currency, start, end, (QuotePhase("Main", start, end, tuple(items)),), trial_end=trial_end,
                  discount=discount)
    estimates = estimate_new_contract(quote=quote, tax_rate=tax_rate)
    contract = contract_create_from_quote(organization_id=customer.organization_id, customer_id=customer.pk,
                                          business_entity_id=customer.business_entity_id, quote=quote,
                                          livemode=livemode)
    invoice = invoice_create_from_estimate(organization_id=customer.organization_id, contract_id=contract.pk,
                                           customer_id=customer.pk, estimate=estimates.current_invoice.to_json(),
                                           status=InvoiceStatus.PAID, livemode=livemode)
    contract = contract_billing_start(contract_id=contract.pk, invoice=invoice)
    method = None
    if behaviour is not None:
        method = saved_payment_method_attach(
            organization_id=customer.organization_id, customer_id=customer.pk, livemode=livemode,
            provider=PaymentProviderName.TEST,
            saved=SavedMethod(reference=f"pm_test_{behaviour}_{contract.pk.hex[:12]}", brand="visa", last4="4242"),
            mandate_text="By subscribing you authorise Acme to charge this card.", contract_id=contract.pk)
    contract.refresh_from_db()
    return Sold(contract, estimates, method)


class EventLog(list):
    """Every billing event sent while connected, in order."""

    def __init__(self):
        super().__init__()
        billing_events.connect(self._receive)

    def _receive(self, sender, events, **kwargs):
        self.extend(events)

    def close(self):
        billing_events.disconnect(self._receive)

    def types(self) -> list[str]:
        return [str(event["type"]) for event in self]
