"""localstripe (PyPI: a fake but stateful Stripe server) for the Stripe tests: started once per
test run on a loopback port, with the SDK and the page's Stripe.js pointed at it."""

import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.common import free_port

WEBHOOK_SECRET = "whsec_localstripe_test"


@dataclass
class LocalStripe:
    port: int
    process: subprocess.Popen

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def js_url(self) -> str:
        return f"{self.base}/js.stripe.com/v3/"

    def post(self, path: str, form: str) -> dict:
        request = urllib.request.Request(self.base + path, data=form.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def secret_post(self, path: str, form: str) -> dict:
        """A call made with the secret key, as the merchant's own code or Stripe's dashboard does."""
        request = urllib.request.Request(self.base + path, data=form.encode(), method="POST",
                                         headers={"Authorization": "Bearer sk_test_local"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def card_payment_method(self, number: str) -> str:
        """What Stripe.js hands the page for a typed card: here a token's card id."""
        token = self.post("/v1/tokens", f"card[number]={number}&card[exp_month]=12&card[exp_year]=2031"
                                        "&card[cvc]=123&key=pk_test_local")
        return token["card"]["id"]

    def authenticate(self, client_secret: str, *, success: bool) -> dict:
        """What the customer's 3-D Secure step does (Stripe.js confirmCardPayment)."""
        intent = client_secret.split("_secret_")[0]
        request = urllib.request.Request(
            f"{self.base}/v1/payment_intents/{intent}/_authenticate?success={'true' if success else 'false'}",
            data=json.dumps({"key": "pk_test_local", "client_secret": client_secret}).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def confirm_card_setup(self, client_secret: str, number: str) -> dict:
        """What the page's Stripe.js ``confirmCardSetup`` does with a typed card (no 3-D Secure)."""
        setup = client_secret.split("_secret_")[0]
        body = {"key": "pk_test_local", "client_secret": client_secret, "payment_method_data": {
            "type": "card", "card": {"number": number, "exp_month": "12", "exp_year": "2031", "cvc": "123"}}}
        request = urllib.request.Request(f"{self.base}/v1/setup_intents/{setup}/confirm",
                                         data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def intent(self, intent_id: str) -> dict:
        return self.get(f"/v1/payment_intents/{intent_id}")

    def get(self, path: str) -> dict:
        """Any object (or list) as Stripe's API shows it: what was really sent and kept."""
        request = urllib.request.Request(self.base + path, headers={"Authorization": "Bearer sk_test_local"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def intents_of(self, customer: str) -> list[dict]:
        """Every PaymentIntent of a Stripe Customer (localstripe lists them all; filtered here)."""
        return [intent for intent in self.get("/v1/payment_intents?limit=10000")["data"]
                if intent.get("customer") == customer]


def localstripe_start() -> LocalStripe:
    port = free_port()
    # localstripe, patched where it lacks Stripe's saved-card behaviour (tests.localstripe_plus).
    process = subprocess.Popen([sys.executable, "-m", "tests.localstripe_plus", "--port", str(port), "--from-scratch"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                               cwd=Path(__file__).resolve().parent.parent)
    server = LocalStripe(port, process)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(server.js_url, timeout=1).read()
            return server
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("localstripe did not start")


def signed_event(event_type: str, intent: dict, *, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """A Stripe event body and its Stripe-Signature header, signed the way Stripe signs."""
    body = json.dumps({"id": f"evt_{intent['id']}", "object": "event", "type": event_type,
                       "created": int(time.time()), "data": {"object": intent}}).encode()
    timestamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={timestamp},v1={signature}"
