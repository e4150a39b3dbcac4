# Ops screens, one module per area so each stays readable.
from django.contrib import admin  # noqa: E402

from . import payments, sessions, webhooks  # noqa: F401

# "View site" leads to the API's interactive docs: the only page that is ours with no token.
admin.site.site_url = "/api/docs/"
