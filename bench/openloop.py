"""A constant-rate (open-loop) HTTP/1.1 load generator for the bench scripts.

Requests go out on a fixed schedule, request *i* at ``start + i / rate``, whatever the server
answers: a slow answer never delays the next send, so a server that queues shows it in the
latencies. A closed-loop client (``bench/loadgen.py``, ``wrk``) waits for each answer before
the next request and so sends less exactly while the server is slow, which hides the queueing
from its figures ("coordinated omission"). Each latency here is measured from the request's
*scheduled* send time to the last byte of its answer: a send that the generator itself made
late counts against the figure, never for it. The generator reports how late it sent
(``send_lag_ms``) and the CPU it used per request, so its own overhead is visible in every run
(``python bench/openloop.py --self-test`` measures it against a server that answers at once).

One thread, ``selectors``, raw sockets and prepared request bytes: about 40 µs of CPU per
request, so a few hundred requests a second take a few percent of one core. Keep-alive
connections are reused first-in first-out, so every connection (and the gunicorn worker that
accepted it) carries its share; a request due while every connection is busy opens another,
up to ``max_connections``; past that it waits in the generator, its latency still counted
from its schedule. After the last scheduled send the generator waits up to ``drain_timeout``
for the answers in flight; what has not come back by then counts as unanswered.
"""

from __future__ import annotations

import argparse
import os
import selectors
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import percentile  # noqa: E402
from bench.loadgen import Connection, parse_head, request_bytes  # noqa: E402


@dataclass
class OpenLoopResult:
    rate: float  # offered, requests per second
    seconds: float  # the measured window
    latencies_ms: list[float] = field(default_factory=list)  # measured requests answered as expected
    errors: int = 0  # measured requests answered otherwise, or whose connection failed
    unanswered: int = 0  # measured requests with no answer by the end of the drain
    send_lag_ms: list[float] = field(default_factory=list)  # actual send − scheduled send, measured requests
    answered: int = 0  # every answer, warm-up included (CPU per request divides by it)
    client_cpu_s: float = 0.0  # the generator's own CPU over the whole run
    wall_s: float = 0.0
    connections_opened: int = 0
    max_in_flight: int = 0

    @property
    def measured(self) -> int:
        return len(self.latencies_ms) + self.errors + self.unanswered

    @property
    def throughput(self) -> float:
        """Good answers to the measured requests per second of the window."""
        return len(self.latencies_ms) / self.seconds

    def pct(self, q: float) -> float:
        """Latency percentile; a request that failed or never came back counts as infinitely slow
        (leaving it out would flatter an overloaded server)."""
        if not self.latencies_ms:
            return float("inf")
        bad = self.errors + self.unanswered
        ordered = sorted(self.latencies_ms) + [float("inf")] * bad
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def client_cpu_ms_per_request(self) -> float:
        return self.client_cpu_s / max(1, self.answered) * 1000


def open_loop(port: int, requests: Sequence[bytes] | Callable[[int], bytes], *, rate: float, seconds: float,
              warmup: float = 1.0, expect_status: int = 200, initial_connections: int = 32,
              max_connections: int = 512, drain_timeout: float = 30.0, idle_limit: float = 3.0,
              on_measure_start: Callable[[], None] | None = None) -> OpenLoopResult:
    """Send ``rate`` requests per second for ``warmup`` + ``seconds``; measure the requests
    scheduled after the warm-up.

    ``requests``: a sequence (request *i* is ``requests[i % len]``) or a function of *i*.
    ``idle_limit``: a connection idle longer is closed rather than reused (gunicorn closes
    keep-alive connections idle for its ``keepalive``, 5 s in config/gunicorn.py).
    """
    if callable(requests):
        payload = requests
    else:
        count = len(requests)

        def payload(i: int) -> bytes:
            return requests[i % count]

    interval = 1.0 / rate
    total = int(round((warmup + seconds) * rate))
    first_measured = int(round(warmup * rate))
    result = OpenLoopResult(rate=rate, seconds=seconds)
    # select(2) takes a timeout in microseconds; epoll and poll round it up to a millisecond,
    # which made sends up to 1 ms late at every rate. Its cost grows with the number of
    # descriptors, which stays small here (and is capped below FD_SETSIZE).
    selector = selectors.SelectSelector()
    max_connections = min(max_connections, 900)
    idle: deque[Connection] = deque()
    backlog: deque[int] = deque()
    in_flight = 0
    scheduled_at = [0.0] * total
    cpu_started = time.process_time()
    wall_started = time.perf_counter()

    def new_conn() -> Connection:
        conn = Connection(port)
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        result.connections_opened += 1
        return conn

    def close(conn: Connection) -> None:
        conn.dead = True
        selector.unregister(conn.sock)
        conn.sock.close()

    open_conns = 0
    for _ in range(initial_connections):
        idle.append(new_conn())
        open_conns += 1
        time.sleep(0.002)  # one at a time, so gunicorn's workers take turns accepting them

    def take(now: float) -> Connection | None:
        nonlocal open_conns
        while idle:
            conn = idle.popleft()
            if conn.dead:
                continue
            if now - conn.idle_since > idle_limit:
                close(conn)
                open_conns -= 1
                continue
            return conn
        if open_conns < max_connections:
            open_conns += 1
            return new_conn()
        return None

    def send(conn: Connection, index: int, now: float) -> None:
        nonlocal in_flight
        data = payload(index)
        conn.index = index
        conn.buffer = b""
        conn.header_end = conn.expected = -1
        if index >= first_measured:
            result.send_lag_ms.append((now - scheduled_at[index]) * 1000)
        try:
            sent = conn.sock.send(data)
            if sent < len(data):
                conn.sock.setblocking(True)
                conn.sock.sendall(data[sent:])
                conn.sock.setblocking(False)
        except OSError:
            fail(conn)
            return
        in_flight += 1
        result.max_in_flight = max(result.max_in_flight, in_flight)

    def fail(conn: Connection) -> None:
        """A send failed (the connection broke before the request was out): count it, drop it."""
        nonlocal open_conns
        if conn.index >= first_measured:
            result.errors += 1
        conn.index = -1
        close(conn)
        open_conns -= 1

    start = time.perf_counter() + 0.01
    for i in range(total):
        scheduled_at[i] = start + i * interval
    schedule_end = scheduled_at[-1] if total else start
    next_index = 0
    measuring = False
    while True:
        now = time.perf_counter()
        if not measuring and next_index >= first_measured:
            measuring = True
            if on_measure_start:
                on_measure_start()
        while next_index < total and scheduled_at[next_index] <= now:
            backlog.append(next_index)
            next_index += 1
        while backlog:
            conn = take(now)
            if conn is None:
                break
            send(conn, backlog.popleft(), time.perf_counter())
        if next_index >= total and not backlog and in_flight <= 0:
            break
        if next_index >= total and now > schedule_end + drain_timeout:
            stuck = list(backlog) + [key.data.index for key in selector.get_map().values() if key.data.index >= 0]
            result.unanswered += sum(1 for i in stuck if i >= first_measured)
            break
        timeout = scheduled_at[next_index] - now if next_index < total else 0.5
        for key, _ in selector.select(timeout=max(0.0, timeout)):
            conn: Connection = key.data
            try:
                chunk = conn.sock.recv(262144)
            except (ConnectionError, BlockingIOError):
                chunk = b""
            if not chunk:
                if conn.index >= 0:
                    in_flight -= 1
                    if conn.index >= first_measured:
                        result.errors += 1
                    conn.index = -1
                if not conn.dead:
                    close(conn)
                    open_conns -= 1
                continue
            if conn.index < 0:  # bytes on an idle connection: not HTTP we expect; drop it
                close(conn)
                open_conns -= 1
                continue
            conn.buffer += chunk
            if conn.header_end < 0 and not parse_head(conn):
                continue
            if len(conn.buffer) < conn.expected:
                continue
            finished = time.perf_counter()
            index = conn.index
            in_flight -= 1
            result.answered += 1
            if index >= first_measured:
                if conn.status == expect_status:
                    result.latencies_ms.append((finished - scheduled_at[index]) * 1000)
                else:
                    result.errors += 1
            conn.index = -1
            conn.idle_since = finished
            if backlog:
                send(conn, backlog.popleft(), finished)
            else:
                idle.append(conn)
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    selector.close()
    result.client_cpu_s = time.process_time() - cpu_started
    result.wall_s = time.perf_counter() - wall_started
    return result


# --- the generator's own overhead ------------------------------------------------------------------

_ECHO_SERVER = r"""
import selectors, socket, sys
body = b'{"ok": true}'
answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
          + str(len(body)).encode() + b"\r\n\r\n" + body)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(1024)
listener.setblocking(False)
print(listener.getsockname()[1], flush=True)
sel = selectors.DefaultSelector()
sel.register(listener, selectors.EVENT_READ, None)
buffers = {}
while True:
    for key, _ in sel.select():
        if key.data is None:
            conn, _ = listener.accept()
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sel.register(conn, selectors.EVENT_READ, b"")
            buffers[conn] = b""
            continue
        conn = key.fileobj
        try:
            chunk = conn.recv(65536)
        except ConnectionError:
            chunk = b""
        if not chunk:
            sel.unregister(conn); conn.close(); buffers.pop(conn, None); continue
        data = buffers[conn] + chunk
        while True:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                break
            length = 0
            for line in data[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(data) < end + 4 + length:
                break
            data = data[end + 4 + length:]
            conn.sendall(answer)
        buffers[conn] = data
"""


def self_test(rates: list[float], seconds: float) -> None:
    """Drive a server that answers at once (a selectors loop in another process) at each rate:
    what the generator costs per request, and how late it sends, with nothing else in the way."""
    from bench.common import cpu_seconds

    server = subprocess.Popen([sys.executable, "-c", _ECHO_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        body = b'{"name": "x"}'
        request = request_bytes("POST", "/bench/floor", headers={"Content-Type": "application/json"}, body=body)
        print(f"open-loop generator against an instant server; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"{'offered/s':>10}{'answered/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}"
              f"{'lag p99 ms':>12}{'gen CPU µs/req':>16}{'server CPU µs/req':>19}{'conns':>7}")
        for rate in rates:
            before = cpu_seconds([server.pid])
            r = open_loop(port, [request], rate=rate, seconds=seconds, warmup=0.5)
            server_cpu = cpu_seconds([server.pid]) - before
            print(f"{rate:>10.0f}{r.throughput:>12.0f}{r.pct(50):>9.2f}{r.pct(99):>9.2f}{r.pct(99.9):>10.2f}"
                  f"{percentile(r.send_lag_ms, 99):>12.2f}{r.client_cpu_ms_per_request() * 1000:>16.0f}"
                  f"{server_cpu / max(1, r.answered) * 1e6:>19.0f}{r.connections_opened:>7}")
    finally:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--self-test", action="store_true", help="measure the generator's own overhead")
    parser.add_argument("--rates", default="250,500,1000,2000,4000")
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    if not args.self_test:
        parser.error("only --self-test runs on its own; the bench scripts import open_loop()")
    self_test([float(r) for r in args.rates.split(",")], args.seconds)


if __name__ == "__main__":
    main()
