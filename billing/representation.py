"""The JSON objects the API answers with and billing's events carry (invoices, contracts,
payments, saved payment methods, test clocks), built by hand from model rows as
``checkout.representation`` builds sessions: an event's ``data.object`` is what the API showed at
that moment. Amounts are decimal strings in the currency's exact precision."""

from core.money import to_str
from core.wire import date_text, datetime_text, id_text

from .tax import tax_note_for


def invoice_json(invoice, lines=None) -> dict:
    """``lines``: the invoice's lines when already loaded (a fresh invoice), else they are read."""
    c = invoice.currency
    lines = list(invoice.lines.all()) if lines is None else lines
    return {
        "id": str(invoice.id),
        "object": "invoice",
        "number": invoice.number,
        "organization_id": str(invoice.organization_id),
        "livemode": invoice.livemode,
        "contract_id": str(invoice.contract_id),
        "customer_id": str(invoice.customer_id),
        "checkout_session_id": id_text(invoice.checkout_session_id),
        "billing_reason": invoice.billing_reason,
        "status": invoice.status,
        "currency": c,
        "invoice_date": date_text(invoice.invoice_date),
        "period_start": date_text(invoice.period_start),
        "period_end": date_text(invoice.period_end),
        "line_items": [
            {
                "product_id": id_text(line.product_id),
                "name": line.name,
                "description": line.description,
                "pricing_model": line.pricing_model or None,
                "quantity": int(line.quantity) if line.quantity == int(line.quantity) else format(line.quantity, "f"),
                "unit_amount": None if line.unit_amount is None else to_str(line.unit_amount, c),
                "amount": to_str(line.amount, c),
                "period_start": date_text(line.period_start),
                "period_end": date_text(line.period_end),
                "proration": line.proration,
            }
            for line in lines
        ],
        "subtotal": to_str(invoice.subtotal, c),
        "tax": to_str(invoice.tax, c),
        "total": to_str(invoice.total, c),
        "credit_applied": to_str(invoice.credit_applied, c),
        "amount_due": to_str(invoice.amount_due, c),
        "due_date": date_text(invoice.due_date),
        "tax_note": tax_note_for(invoice.tax_reason),
        "attempt_count": invoice.attempt_count,
        "next_payment_attempt": datetime_text(invoice.next_payment_attempt),
        "paid_at": datetime_text(invoice.paid_at),
        "created_at": datetime_text(invoice.created_at),
    }


def contract_json(contract) -> dict:
    return {
        "id": str(contract.id),
        "object": "contract",
        "organization_id": str(contract.organization_id),
        "livemode": contract.livemode,
        "customer_id": str(contract.customer_id),
        "business_entity_id": str(contract.business_entity_id),
        "plan_id": id_text(contract.plan_id),
        "status": contract.status,
        "currency": contract.currency,
        "start_date": date_text(contract.start_date),
        "end_date": date_text(contract.end_date),
        "trial_end": date_text(contract.trial_end),
        "next_billing_date": date_text(contract.next_billing_date),
        "collection_method": contract.collection_method,
        "default_payment_method_id": id_text(contract.default_payment_method_id),
        "test_clock_id": id_text(contract.test_clock_id),
        "credit_balance": to_str(contract.credit_balance, contract.currency),
        "cancelled_at": datetime_text(contract.cancelled_at),
        "cancellation_reason": contract.cancellation_reason or None,
        "version": contract.version,
        "created_at": datetime_text(contract.created_at),
    }


def payment_json(payment) -> dict:
    c = payment.currency
    return {
        "id": str(payment.id),
        "object": "payment",
        "organization_id": str(payment.organization_id),
        "livemode": payment.livemode,
        "checkout_session_id": id_text(payment.checkout_session_id),
        "invoice_id": id_text(payment.invoice_id),
        "status": payment.status,
        "amount": to_str(payment.amount, c),
        "currency": c,
        "provider": payment.provider,
        "provider_reference": payment.provider_reference or None,
        "payment_method_id": id_text(payment.saved_payment_method_id),
        "off_session": payment.off_session,
        "amount_refunded": to_str(payment.amount_refunded, c),
        "card_last4": payment.card_last4 or None,
        "failure_code": payment.failure_code or None,
        "failure_message": payment.failure_message or None,
        "created_at": datetime_text(payment.created_at),
    }


def refund_json(refund) -> dict:
    return {
        "id": str(refund.id),
        "object": "refund",
        "livemode": refund.livemode,
        "payment_id": str(refund.payment_id),
        "invoice_id": id_text(refund.invoice_id),
        "amount": to_str(refund.amount, refund.currency),
        "currency": refund.currency,
        "reason": refund.reason,
        "status": refund.status,
        "source": refund.source,
        "provider_reference": refund.provider_reference or None,
        "failure_reason": refund.failure_reason or None,
        "created_at": datetime_text(refund.created_at),
    }


def credit_note_json(note) -> dict:
    return {
        "id": str(note.id),
        "object": "credit_note",
        "invoice_id": str(note.invoice_id),
        "refund_id": str(note.refund_id),
        "amount": to_str(note.amount, note.currency),
        "currency": note.currency,
        "reason": note.reason,
        "created_at": datetime_text(note.created_at),
    }


def saved_payment_method_json(method, *, is_default: bool | None = None) -> dict:
    """``is_default``: whether it is its customer's default (the caller knows; when not given,
    a method saved as the default that is still active is said to be one)."""
    return {
        "id": str(method.id),
        "object": "payment_method",
        "customer_id": str(method.customer_id),
        "livemode": method.livemode,
        "type": "card",
        "provider": method.provider,
        "provider_reference": method.provider_reference,
        "card": {"brand": method.brand or None, "last4": method.last4 or None,
                 "exp_month": method.exp_month, "exp_year": method.exp_year},
        "status": method.status,
        "is_default": (method.default_since is not None and method.status == "active") if is_default is None
        else is_default,
        "mandate": {"text": method.mandate_text or None, "accepted_at": datetime_text(method.mandate_accepted_at)},
        "created_at": datetime_text(method.created_at),
    }


def test_clock_json(clock) -> dict:
    return {
        "id": str(clock.id),
        "object": "test_clock",
        "livemode": False,
        "customer_id": str(clock.customer_id),
        "name": clock.name or None,
        "frozen_time": datetime_text(clock.frozen_time),
        "status": clock.status,
        "created_at": datetime_text(clock.created_at),
    }


test_clock_json.__test__ = False  # not a pytest test
