"""Loaded with ``-p tests.testenv`` (see pyproject) before Django reads its settings."""

import os

# Playwright's sync API runs an event loop in the test thread; Django must allow ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Tests talk plain HTTP to the test client and live_server; HTTPS redirects stay a production concern.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Serve static files from the source folders (no collectstatic manifest needed).
os.environ.setdefault("STATIC_MANIFEST", "false")
# The webhook tests' receivers listen on loopback; tests/checkout/background/test_outbound.py
# turns the public-addresses-only guard back on to test it.
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
# Admin tests log in with force_login (no TOTP code); tests/test_admin_access.py turns the
# production rule (a code required for staff) back on to test it.
os.environ.setdefault("ADMIN_2FA_REQUIRED", "false")
