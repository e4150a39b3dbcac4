"""The checkout session's core: its terms (``terms``), how it changes state
(``transitions``) and how it expires (``expiry``). Services build on these; nothing here
imports a service."""
