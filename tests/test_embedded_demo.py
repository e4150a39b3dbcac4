"""Command 1's embedded mode (SQLite, no Redis): the demo must work end to end.

The rest of the suite runs on PostgreSQL; this drives a fresh SQLite database in a
subprocess the way `make run` does: migrate, seed, then create (with and without an
idempotency key, and replayed), read, list, open the hosted page and pay.
"""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import json
from django.core.management import call_command
from io import StringIO
from django.test import Client

out = StringIO()
call_command("seed_demo", "--json", stdout=out)
demo = json.loads(out.getvalue())
api = Client(HTTP_AUTHORIZATION="Bearer " + demo["api_key"])
body = {"plan_id": demo["plans"]["Growth (monthly)"], "customer_id": demo["customers"][1],
        "success_url": "https://merchant.example/ok?cs={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://merchant.example/cancel"}
results = {}
first = api.post("/api/v1/checkout-sessions", body, content_type="application/json",
                 HTTP_IDEMPOTENCY_KEY="demo-1")
again = api.post("/api/v1/checkout-sessions", body, content_type="application/json",
                 HTTP_IDEMPOTENCY_KEY="demo-1")
plain = api.post("/api/v1/checkout-sessions", body, content_type="application/json")
session = first.json()
results["statuses"] = [first.status_code, again.status_code, plain.status_code]
results["replayed_same"] = first.content == again.content
results["total"] = session["estimates"]["current_invoice"]["total"]
results["get"] = api.get("/api/v1/checkout-sessions/" + session["id"]).status_code
results["list"] = len(api.get("/api/v1/checkout-sessions").json()["data"])
page_path = "/" + session["url"].split("/", 3)[3]
browser = Client(enforce_csrf_checks=False)
results["page"] = browser.get(page_path).status_code
paid = browser.post(page_path, {"payment_method": "card", "card_number": "4242 4242 4242 4242",
                                "card_expiry": "12/34", "card_cvc": "123"})
results["paid"] = [paid.status_code, paid.get("Location", "")]
results["after"] = api.get("/api/v1/checkout-sessions/" + session["id"]).json()["status"]
from django.contrib.auth import get_user_model
from checkout.selectors import conversion_dashboard_get
ops = Client()
ops.force_login(get_user_model().objects.create_superuser("demo-ops", "ops@example.com", "pw"))
results["dashboard"] = ops.get("/admin/checkout/checkoutsession/dashboard/?mode=test").status_code
dashboard = conversion_dashboard_get(livemode=False)
results["dashboard_numbers"] = [dashboard.totals.created, dashboard.totals.completed,
                                [[str(r.total), session["estimates"]["current_invoice"]["total"]] for r in dashboard.revenue]]
print("RESULT " + json.dumps(results))
"""


def test_embedded_demo_creates_pays_and_replays_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    migrated = run("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    result = run("shell", "-c", SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert data["statuses"] == [201, 201, 201]
    assert data["replayed_same"] is True
    assert data["get"] == 200 and data["list"] == 2 and data["page"] == 200
    assert data["paid"][0] == 302 and data["paid"][1].startswith("https://merchant.example/ok?cs=")
    assert data["after"] == "completed"
    # The conversion dashboard on SQLite: two sessions created, the paid one booked.
    created, completed, revenue = data["dashboard_numbers"]
    assert data["dashboard"] == 200 and (created, completed) == (2, 1)
    assert [Decimal(booked) == Decimal(total) for booked, total in revenue] == [True]
