# Ops screens, one module per area so each stays readable.
from . import payments, sessions, webhooks  # noqa: F401
