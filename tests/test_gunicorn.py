"""The production server command (config/gunicorn.py) against slow and odd clients, for real:
gunicorn on a loopback port, serving the test database."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from bench.common import free_port, gunicorn_stop
from tests.checkout.factories import CheckoutSessionFactory

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _start(tmp_path, *, workers: int = 1, **extra_env):
    """gunicorn with config/gunicorn.py on a free loopback port: (process, port, access log)."""
    settings = connection.settings_dict
    port = free_port()
    access_log = tmp_path / "access.log"
    env = {
        **__import__("os").environ,
        "DATABASE_URL": f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
                        f"/{settings['NAME']}",
        "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": "4",
        "GUNICORN_ACCESS_LOG": str(access_log),
        **extra_env,
    }
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"],
                               cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if _request(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").startswith(
                    b"HTTP/1.1 200"):
                break
        except OSError:
            time.sleep(0.2)
    else:
        gunicorn_stop(process)
        pytest.fail("gunicorn did not start")
    return process, port, access_log


@pytest.fixture
def server(tmp_path):
    process, port, access_log = _start(tmp_path)
    yield port, access_log
    gunicorn_stop(process)


def _request(port: int, raw: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_stalled_uploads_do_not_freeze_other_requests(server):
    port, _log = server
    stalled = []
    for _ in range(2):  # each sends its headers and one byte of a 1000-byte body, then nothing
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"POST /api/v1/checkout-sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\nAuthorization: Bearer sk_test_" + b"a" * 43 + b"\r\n\r\n{")
        stalled.append(sock)
    time.sleep(0.5)
    try:
        started = time.monotonic()
        answer = _request(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        elapsed = time.monotonic() - started
    finally:
        for sock in stalled:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 200")
    assert elapsed < 2.0


def test_chunked_api_body_is_read_by_the_real_server(server):
    from core.services import api_key_create
    from tests.core.factories import OrganizationFactory

    key = api_key_create(organization=OrganizationFactory())[1]
    body = b'{"metadata": "not an object"}'
    answer = _request(port=server[0], raw=(
        b"POST /api/v1/checkout-sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + key.encode() + b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(body):x}".encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"))
    assert answer.startswith(b"HTTP/1.1 422")
    assert b'"metadata"' in answer


def test_access_log_never_holds_a_page_token(server):
    port, access_log = server
    session = CheckoutSessionFactory()
    answer = _request(port, f"GET /pay/{session.token} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                      .encode())
    assert answer.startswith(b"HTTP/1.1 200")
    _request(port, b"GET /pay/cs_unknown/cancel HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and access_log.read_text().count("/pay/") < 2:
        time.sleep(0.1)
    text = access_log.read_text()
    assert text.count("/pay/[redacted]") == 2, text
    assert session.token not in text and "cs_unknown" not in text


@pytest.mark.parametrize("raw, status, code", [
    (b"GET /api/v1/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
    (b"GET /api/v1/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
    (b"GET /api/v1/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, "malformed_request"),
    (b"\x00\x01 nonsense\r\n\r\n", 400, "malformed_request"),
])
def test_requests_gunicorn_cannot_parse_get_the_json_envelope(server, raw, status, code):
    answer = _request(server[0], raw)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}".encode()), answer[:200]
    assert b"Content-Type: application/json" in head
    error = __import__("json").loads(body)["error"]
    assert error["code"] == code
    # Like every other answer, with X-Request-Id: the envelope's trace id (#28).
    assert f"X-Request-Id: {error['trace_id']}\r\n".encode() in head + b"\r\n", head


def test_a_413_closes_the_keep_alive_connection_and_compressed_bodies_are_501(tmp_path):
    """#28: a body refused unread (413) must not be parsed as the client's next request on a
    keep-alive connection; ``Transfer-Encoding: gzip, chunked`` is refused, not read as chunked."""
    process, port, _log = _start(tmp_path, API_MAX_BODY_BYTES="100")
    try:
        smuggled = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        body = smuggled + b" " * (200 - len(smuggled))
        answer = _request(port, (  # keep-alive (HTTP/1.1 default): the server must close after the 413
            b"POST /api/v1/checkout-sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\n\r\n" + body), timeout=15)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
        assert answer.count(b"HTTP/1.1 ") == 1, answer  # the smuggled GET was never answered
        head = answer.partition(b"\r\n\r\n")[0]
        assert b"Connection: close" in head and b"X-Request-Id: " in head

        gzipped = b"\x1f\x8b\x08\x00garbage"
        answer = _request(port, (
            b"POST /api/v1/checkout-sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: gzip, chunked\r\n\r\n"
            + f"{len(gzipped):x}".encode() + b"\r\n" + gzipped + b"\r\n0\r\n\r\n"), timeout=15)
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 501"), answer[:300]
        assert __import__("json").loads(payload)["error"]["code"] == "unsupported_transfer_coding"
    finally:
        gunicorn_stop(process)


def test_metrics_add_up_every_worker(tmp_path):
    """Two worker processes: whichever answers the scrape, the latency histogram counts the
    requests both served (prometheus-client's multiprocess mode, set up by config/gunicorn.py)."""
    from concurrent.futures import ThreadPoolExecutor

    directory = tmp_path / "prometheus"
    process, port, _log = _start(tmp_path, workers=2, METRICS_TOKEN="gunicorn-metrics-token",
                                 PROMETHEUS_MULTIPROC_DIR=str(directory))
    readyz = b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    try:
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            # Bursts of concurrent connections until both workers have served some (each writes
            # its own file); the kernel decides which worker accepts each.
            while len(list(directory.glob("histogram_*.db"))) < 2 and sent < 800:
                answers = list(pool.map(lambda _i: _request(port, readyz), range(40)))
                assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)
                sent += len(answers)
        assert len(list(directory.glob("histogram_*.db"))) == 2, "one worker served every request"
        for _ in range(6):  # answered by either worker: always every worker's requests
            answer = _request(port, b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                    b"Authorization: Bearer gunicorn-metrics-token\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
            body = answer.partition(b"\r\n\r\n")[2].decode()
            line = next(line for line in body.splitlines() if line.startswith(
                "checkout_http_request_duration_seconds_count") and 'route="core.views.readyz"' in line)
            assert float(line.rsplit(" ", 1)[1]) == sent, line
    finally:
        gunicorn_stop(process)
