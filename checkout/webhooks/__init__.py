"""Webhooks, the consumer of the session events' outbox: ``endpoints`` (the merchant's URLs and
secrets), ``outbox`` (committed events fanned out into deliveries) and ``delivery`` (signed
POSTs, retries, endpoint health). One way: outbox → delivery; endpoints stand alone."""
