# Ops screens, one module per area so each stays readable.
from . import sessions, webhooks  # noqa: F401
