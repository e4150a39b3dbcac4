import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from checkout.demo import DEMO_ORG, demo_merchant_seed

SUPERUSER = ("admin", "admin")


class Command(BaseCommand):
    help = "Build (or reuse) a demo merchant with products, plans, customers and a contract. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--org", default=DEMO_ORG, help="Organization name (default: %(default)s).")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="Print what was made as one JSON object.")
        parser.add_argument("--superuser", action="store_true",
                            help="Also create the demo admin user admin/admin (local demos only).")
        parser.add_argument("--banner", action="store_true", help="Print the API key and a ready-to-paste curl.")

    def handle(self, *args, org, as_json: bool, superuser: bool, banner: bool, **options):
        demo = demo_merchant_seed(org_name=org)
        if superuser:
            username, password = SUPERUSER
            User = get_user_model()
            if not User.objects.filter(username=username).exists():
                User.objects.create_superuser(username=username, email="admin@example.com", password=password)
        if as_json:
            self.stdout.write(json.dumps(demo.as_json(), indent=2))
        elif banner:
            self.stdout.write(_banner(demo, superuser))
        else:
            self.stdout.write(f"Demo merchant {demo.organization.name!r} ready ({demo.organization.id}).")
            self.stdout.write(f"API key: {demo.api_key}")


def _banner(demo, superuser: bool) -> str:
    base = settings.PUBLIC_BASE_URL
    body = {
        "plan_id": str(demo.plans["Growth (monthly)"].id),
        "customer_id": str(demo.customers[1].id),
        "success_url": "https://merchant.example/success?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://merchant.example/cancel",
        "pending_url": "https://merchant.example/pending",
    }
    exports = {
        "API_KEY": demo.api_key,
        "BASE_URL": base,
        "PLAN_ID": body["plan_id"],
        "CUSTOMER_ID": body["customer_id"],
        "PRODUCT_ID": str(demo.products["Seats"].id),
    }
    lines = [
        "",
        "=" * 72,
        f" Demo merchant: {demo.organization.name} ({demo.organization.id})",
        f" API key:       {demo.api_key}",
        "                (derived from SECRET_KEY: with the default key, the same on every demo install)",
    ]
    if superuser:
        lines.append(f" Admin:         {base}/admin/  (user {SUPERUSER[0]} / password {SUPERUSER[1]})")
    lines += [
        f" API:           {base}/api/v1/   docs: {base}/api/docs/",
        "",
        " For the README's commands, paste this line into another terminal:",
        "",
        "   export " + " ".join(f"{name}={value}" for name, value in exports.items()),
        "",
        " Or create a checkout session now, then open its \"url\" in a browser:",
        "",
        f"   curl -s -X POST {base}/api/v1/checkout-sessions \\",
        f"     -H 'Authorization: Bearer {demo.api_key}' \\",
        "     -H 'Content-Type: application/json' \\",
        f"     -d '{json.dumps(body)}'",
        "=" * 72,
        "",
    ]
    return "\n".join(lines)
