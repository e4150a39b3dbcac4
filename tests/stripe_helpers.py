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

    def intent(self, intent_id: str) -> dict:
        request = urllib.request.Request(f"{self.base}/v1/payment_intents/{intent_id}",
                                         headers={"Authorization": "Bearer sk_test_local"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)


def localstripe_start() -> LocalStripe:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
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
