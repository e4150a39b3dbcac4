"""A small Stripe test double in front of localstripe: the rules localstripe does not apply.

localstripe (a stateful fake Stripe) accepts any amount, ignores ``Idempotency-Key`` and always
answers. Real Stripe does not, and the confirm's safety rests on those differences, so this
proxy forwards every request to localstripe and adds:

- Stripe's idempotency rules (https://docs.stripe.com/idempotency): the status and body of the
  first request with a key are saved once the endpoint began executing, and a request with the
  same key gets them again (``Idempotent-Replayed: true``), 500s included; the same key with other
  parameters (or another endpoint) is refused with an ``idempotency_error``; a request arriving
  while one with its key is still executing is refused with a 409 and nothing is saved;
- lost answers on demand: ``drop(n)`` lets the next ``n`` POSTs to payment intents (or ``path``)
  reach localstripe (the charge happens) and then closes the connection without an answer, as a
  network failure does; ``unreachable(n)``: they never reach it; ``delay`` holds every answer;
  ``forbid(key)``: a restricted key without the permissions asked for (403);
- the amounts Stripe refuses (https://docs.stripe.com/currencies): a three-decimal currency's
  amount must end in 0 ("5.124 KWD must be rounded to 5120 or 5130"), ISK amounts must be whole
  krónur sent with two decimals (a multiple of 100); a payment intent below the currency's minimum
  charge (``billing.gateway.STRIPE_MINIMUM_CHARGES``) is refused with ``amount_too_small``.

``requests`` records what reached the double (method, path, key, parameters) so tests can check
the key and the parameters of every try.
"""

import http.client
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.common import free_port
from billing.gateway import STRIPE_MINIMUM_CHARGES, amount_in_minor_units

THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}


@dataclass
class _Saved:
    fingerprint: tuple
    status: int | None = None  # None: still executing
    body: bytes = b""


@dataclass
class StripeDouble:
    upstream_port: int
    port: int = 0
    delay: float = 0.0
    requests: list = field(default_factory=list)
    _drop: int = 0
    _unreachable: int = 0
    _target: str = "/v1/payment_intents"
    _unreachable_method: str = "POST"
    _keys: dict = field(default_factory=dict)
    _forbidden: set = field(default_factory=set)
    _passed: dict = field(default_factory=dict)  # thread id -> headers of the answer being forwarded
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop(self, times: int = 1, *, path: str = "/v1/payment_intents") -> None:
        """The next ``times`` POSTs to ``path`` are executed by Stripe and their answers lost."""
        with self._lock:
            self._drop, self._target = times, path

    def unreachable(self, times: int = 1, *, path: str = "/v1/payment_intents", method: str = "POST") -> None:
        """The next ``times`` requests (POSTs, or ``method``) to ``path`` never reach Stripe (and
        get no answer)."""
        with self._lock:
            self._unreachable, self._target, self._unreachable_method = times, path, method

    def forbid(self, secret_key: str) -> None:
        """Requests made with ``secret_key`` are refused as Stripe refuses a restricted key
        without the permission an endpoint needs (403)."""
        self._forbidden.add(secret_key)

    def heal(self) -> None:
        with self._lock:
            self._drop = self._unreachable = 0
        self.delay = 0.0

    def posts(self, path_prefix: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"].startswith(path_prefix)]

    # --- the server -----------------------------------------------------------------------

    def start(self) -> "StripeDouble":
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                double._handle(self, b"")

            def do_DELETE(self):
                double._handle(self, b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                double._handle(self, self.rfile.read(length) if length else b"")

        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path = handler.path
        params = sorted(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        key = handler.headers.get("Idempotency-Key", "")
        method = handler.command
        self.requests.append({"method": method, "path": path, "key": key, "params": dict(params)})
        secret_key = handler.headers.get("Authorization", "").removeprefix("Bearer ")
        if secret_key in self._forbidden:
            return self._answer(handler, 403, _error(
                "", f"The provided key '{secret_key[:8]}***{secret_key[-4:]}' does not have the required "
                "permissions for this endpoint.", "invalid_request_error"))
        targeted = method == "POST" and path.startswith(self._target)
        if path.startswith(self._target) and method == self._unreachable_method:
            with self._lock:
                if self._unreachable:
                    self._unreachable -= 1
                    return self._hang_up(handler)
        if method == "POST" and key:
            fingerprint = (path.split("?")[0], tuple(params))
            scope = (handler.headers.get("Authorization", ""), key)
            with self._lock:
                saved = self._keys.get(scope)
                if saved is None:
                    saved = self._keys[scope] = _Saved(fingerprint)
                    first = True
                else:
                    first = False
            if not first:
                if saved.fingerprint != fingerprint:
                    return self._answer(handler, 400, _error(
                        "idempotency_error", "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with."), drop=targeted and self._take_drop())
                if saved.status is None:
                    return self._answer(handler, 409, _error(
                        "idempotency_error", "There is currently another in-progress request using this "
                        "Idempotent Key."), drop=targeted and self._take_drop())
                return self._answer(handler, saved.status, saved.body, replayed=True, drop=targeted and self._take_drop())
            refusal = _refused_amount(path, dict(params))
            if refusal is not None:
                # Validation fails before the endpoint runs: nothing is saved for the key.
                with self._lock:
                    self._keys.pop(scope, None)
                return self._answer(handler, 400, refusal, drop=targeted and self._take_drop())
            status, answer = self._forward(method, path, body, handler.headers)
            saved.status, saved.body = status, answer
            return self._answer(handler, status, answer, drop=targeted and self._take_drop())
        status, answer = self._forward(method, path, body, handler.headers)
        return self._answer(handler, status, answer, drop=targeted and self._take_drop())

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drop:
                self._drop -= 1
                return True
        return False

    def _forward(self, method, path, body, headers) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        forwarded = {name: value for name, value in headers.items()
                     if name.lower() in ("authorization", "content-type", "stripe-version", "origin")}
        connection.request(method, path, body=body or None, headers=forwarded)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        # What a browser needs of the answer (Stripe.js served through the double): its type
        # (the script is JavaScript) and localstripe's CORS headers.
        self._passed[threading.get_ident()] = [
            (name, value) for name, value in response.getheaders()
            if name.lower() == "content-type" or name.lower().startswith("access-control-")]
        return response.status, data

    def _answer(self, handler, status: int, body: bytes, *, replayed: bool = False, drop: bool = False) -> None:
        if self.delay:
            time.sleep(self.delay)
        passed = self._passed.pop(threading.get_ident(), [])
        if drop:
            return self._hang_up(handler)
        handler.send_response(status)
        for name, value in passed:
            handler.send_header(name, value)
        if not any(name.lower() == "content-type" for name, _value in passed):
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Request-Id", f"req_double_{len(self.requests)}")
        if replayed:
            handler.send_header("Idempotent-Replayed", "true")
        handler.end_headers()
        handler.wfile.write(body)

    @staticmethod
    def _hang_up(handler) -> None:
        handler.close_connection = True
        try:
            handler.connection.shutdown(2)
        except OSError:
            pass


def _error(code: str, message: str, type_: str = "idempotency_error") -> bytes:
    return json.dumps({"error": {"type": type_, "code": code, "message": message}}).encode()


def _refused_amount(path: str, params: dict) -> bytes | None:
    """Stripe's refusal of an amount its currency rules do not allow (payment intents, refunds)."""
    if not path.startswith(("/v1/payment_intents", "/v1/refunds")) or "amount" not in params:
        return None
    currency = (params.get("currency") or "").lower()
    amount = int(params["amount"])
    if currency in THREE_DECIMAL and amount % 10:
        return _error("amount_invalid", f"Invalid amount {amount} for {currency}: the last digit must be 0.",
                      "invalid_request_error")
    if currency == "isk" and amount % 100:
        return _error("invalid_charge_amount_no_decimal_compatible", f"Invalid amount {amount} for isk: whole krónur only (a multiple of 100).",
                      "invalid_request_error")
    minimum = STRIPE_MINIMUM_CHARGES.get(currency.upper())
    if path.startswith("/v1/payment_intents") and minimum is not None and 0 < amount < amount_in_minor_units(
            minimum, currency):
        # Stripe's answer to a charge below its minimum (refunds have none).
        return _error("amount_too_small", f"Amount must be at least {_symbol(currency)}{minimum} {currency}",
                      "invalid_request_error")
    return None


def _symbol(currency: str) -> str:
    return {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}.get(currency, "")
