"""Sequential invoice numbers per business entity: gapless and safe under concurrency.

Each entity has one counter row (``InvoiceNumberCounter``). Taking numbers is a single
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` inside the transaction that writes the invoice:
the statement creates the row the first time and otherwise increments it, and either way the
row stays locked until that transaction ends. So two invoices of one entity never share a
number (the second waits for the first to commit and then sees its increment), and an invoice
whose transaction rolls back gives its number back with it: no gaps. Different entities never
wait for each other.

The renewal run takes one block per entity per batch (``count`` numbers in one statement), so
numbering costs it one statement per entity, not one per invoice.
"""

from django.db import connection

from core.models import BusinessEntity

from .models import InvoiceNumberCounter

NUMBER_DIGITS = 6


def invoice_number_format(prefix: str, sequence: int) -> str:
    """``INV-`` and 42 → ``INV-000042`` (wider once past 999,999: never truncated)."""
    return f"{prefix}{sequence:0{NUMBER_DIGITS}d}"


def invoice_numbers_take(*, business_entity_id, count: int = 1) -> list[str]:
    """The next ``count`` numbers of the entity, in order. Must run inside the transaction that
    saves the invoices (``transaction.atomic``): the counter is locked until it commits."""
    if count < 1:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("invoice numbers are taken inside the invoice's transaction")
    counter = connection.ops.quote_name(InvoiceNumberCounter._meta.db_table)
    entity = connection.ops.quote_name(BusinessEntity._meta.db_table)
    pk = BusinessEntity._meta.pk.get_db_prep_value(business_entity_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            # No table alias: SQLite (the embedded demo) refuses one in RETURNING.
            f"INSERT INTO {counter} (business_entity_id, last_number) VALUES (%s, %s)"
            f" ON CONFLICT (business_entity_id) DO UPDATE SET last_number = {counter}.last_number + EXCLUDED.last_number"
            f" RETURNING last_number, (SELECT e.invoice_prefix FROM {entity} e WHERE e.id = %s)",
            [pk, count, pk],
        )
        last, prefix = cursor.fetchone()
    return [invoice_number_format(prefix or "", n) for n in range(last - count + 1, last + 1)]
