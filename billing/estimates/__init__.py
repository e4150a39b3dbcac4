"""Invoice estimates: what a new contract or an amendment bills now, and what it bills next.

Pure: dataclasses in, dataclasses out; no ORM, no request. The package's modules, each
depending only on the ones listed before it:

- ``quote``: what is sold, as values (``Quote``, its items, phases and ``Discount``, the plan
  and contract snapshots ``billing.selectors`` builds) and their JSON;
- ``describe``: how an estimate line reads (descriptions, unit prices);
- ``engine``: the pricing engine (``estimate_new_contract``, ``estimate_amendment``, the
  billing schedule, ``LineItem``/``InvoiceEstimate``/``Estimates`` and their JSON);
- ``build``: quotes built from requests (plan + overrides, quantity updates, amendments,
  product-based contract specs).

Callers import from ``billing.estimates``; the names below are the package's API.
"""

from .build import (
    amendment_quote,
    quote_from_contract_spec,
    quote_from_plan,
    quote_items_for_quantity_update,
    quote_items_from_plan,
)
from .describe import price_str
from .engine import (
    MAX_START_DAYS_AHEAD,
    ONE_DAY,
    BillingSchedule,
    Estimates,
    InvoiceEstimate,
    LineItem,
    billing_anchors,
    contract_billing_date_next,
    contract_invoice,
    estimate_amendment,
    estimate_contract_change,
    estimate_new_contract,
    phase_in_force,
    start_date_problem,
)
from .quote import (
    MAX_TRIAL_DAYS,
    CataloguePricing,
    ContractSnapshot,
    Discount,
    LineKind,
    PhaseSnapshot,
    PlanItemSnapshot,
    PlanSnapshot,
    ProductRef,
    Quote,
    QuoteItem,
    QuotePhase,
)

__all__ = [
    "MAX_START_DAYS_AHEAD",
    "MAX_TRIAL_DAYS",
    "ONE_DAY",
    "BillingSchedule",
    "CataloguePricing",
    "ContractSnapshot",
    "Discount",
    "Estimates",
    "InvoiceEstimate",
    "LineItem",
    "LineKind",
    "PhaseSnapshot",
    "PlanItemSnapshot",
    "PlanSnapshot",
    "ProductRef",
    "Quote",
    "QuoteItem",
    "QuotePhase",
    "amendment_quote",
    "billing_anchors",
    "contract_billing_date_next",
    "contract_invoice",
    "estimate_amendment",
    "estimate_contract_change",
    "estimate_new_contract",
    "phase_in_force",
    "price_str",
    "quote_from_contract_spec",
    "quote_from_plan",
    "quote_items_for_quantity_update",
    "quote_items_from_plan",
    "start_date_problem",
]
