"""A lean closed-loop HTTP/1.1 load generator, shared by the bench scripts.

N keep-alive connections driven from one thread with ``selectors``: each connection sends
a request, waits for the whole response, records the latency and sends the next one. It
does no more per request than write a prepared request, find the status line, the end of
the headers and ``Content-Length``, so it takes a small share of the CPU the server runs
on (the benches run client and server on the same cores). Threads with ``http.client``
took 0.7–1.4 ms of CPU per request here, which the server then did not have.

A response is accepted when its status is the one expected; anything else (another
status, a closed connection, a timeout) counts as an error and the connection is opened
again.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def request_bytes(method: str, path: str, *, headers: dict | None = None, body: bytes = b"") -> bytes:
    """One HTTP/1.1 keep-alive request, ready to send."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    # Response headers of the measured requests, when asked for (one dict per response).
    headers: list[dict] = field(default_factory=list)


class Connection:
    """One keep-alive connection to the server under test and the response being read on
    it (both generators: this closed loop and ``bench/openloop.py``)."""

    __slots__ = ("sock", "buffer", "header_end", "expected", "status", "lines", "started", "index",
                 "idle_since", "dead")

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = b""
        self.header_end = -1
        self.expected = -1
        self.status = 0
        self.lines: list[bytes] = []
        self.started = 0.0  # when the request in flight was sent (closed loop)
        self.index = -1  # the request in flight, -1 when idle (open loop)
        self.idle_since = time.perf_counter()
        self.dead = False


def parse_head(conn: Connection) -> bool:
    """Find the end of the headers; set status, header lines and the response's full length.
    False: need more bytes."""
    end = conn.buffer.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = conn.buffer[:end].split(b"\r\n")
    conn.status = int(head[0].split(b" ", 2)[1])
    conn.lines = head[1:]
    length = 0
    for line in conn.lines:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            raise RuntimeError("chunked responses are not supported by this load generator")
    conn.header_end = end + 4
    conn.expected = conn.header_end + length
    return True


def closed_loop(port: int, next_request: Callable[[int], bytes], *, clients: int, seconds: float,
                warmup: float, expect_status: int = 200, keep_headers: bool = False,
                on_measure_start: Callable[[], None] | None = None, timeout: float = 30.0) -> Result:
    """Drive ``clients`` connections for ``warmup`` + ``seconds``; measure after the warm-up.

    ``next_request(n)`` gives the n-th request's bytes (n counts all requests sent).
    ``on_measure_start`` runs once, when the measured window begins.
    """
    result = Result()
    selector = selectors.DefaultSelector()
    sent = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds
    measuring = False

    def send(conn: Connection) -> None:
        nonlocal sent
        payload = next_request(sent)
        sent += 1
        conn.buffer = b""
        conn.expected = conn.header_end = -1
        conn.started = time.perf_counter()
        conn.sock.setblocking(True)
        conn.sock.sendall(payload)
        conn.sock.setblocking(False)

    def reopen(conn: Connection) -> Connection:
        selector.unregister(conn.sock)
        conn.sock.close()
        fresh = Connection(port)
        selector.register(fresh.sock, selectors.EVENT_READ, fresh)
        send(fresh)
        return fresh

    for _ in range(clients):
        conn = Connection(port)
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        send(conn)
    open_conns = clients
    while open_conns:
        now = time.perf_counter()
        if now > stop + timeout:  # a response that never came: give up on it
            result.errors += open_conns
            break
        if not measuring and now >= measure_from:
            measuring = True
            if on_measure_start:
                on_measure_start()
        events = selector.select(timeout=1.0)
        if not events:
            for key in list(selector.get_map().values()):
                conn = key.data
                if time.perf_counter() - conn.started > timeout:
                    if measuring:
                        result.errors += 1
                    reopen(conn)
            continue
        for key, _ in events:
            conn = key.data
            try:
                chunk = conn.sock.recv(262144)
            except ConnectionError:
                chunk = b""
            if not chunk:
                if measuring:
                    result.errors += 1
                if time.perf_counter() >= stop:
                    selector.unregister(conn.sock)
                    conn.sock.close()
                    open_conns -= 1
                else:
                    reopen(conn)
                continue
            conn.buffer += chunk
            if conn.header_end < 0 and not parse_head(conn):
                continue
            if len(conn.buffer) < conn.expected:
                continue
            finished = time.perf_counter()
            if conn.started >= measure_from and finished <= stop:
                if conn.status == expect_status:
                    result.latencies_ms.append((finished - conn.started) * 1000)
                    if keep_headers:
                        result.headers.append({
                            k.strip().lower().decode(): v.strip().decode()
                            for k, _, v in (line.partition(b":") for line in conn.lines)})
                else:
                    result.errors += 1
            if finished >= stop:
                selector.unregister(conn.sock)
                conn.sock.close()
                open_conns -= 1
            else:
                send(conn)
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    selector.close()
    return result

