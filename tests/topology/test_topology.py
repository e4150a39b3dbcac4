"""The reference topology (scripts/topology.py, issue #30), started here and hurt the way operators
will hurt it: nginx in front of two gunicorn nodes, PgBouncer in transaction mode, a primary and
its pg_basebackup streaming replica, Redis, two Celery workers and two beats, all on loopback.

One topology (starting it is much of the time), on a free base port in 18100-18900 with its own
state directory, stopped and deleted at the end; it touches nothing else on the machine (not the
suite's PostgreSQL or Redis). The steps are functions run in turn by one test (the end of this
file); each leaves every process running as it found it.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import statistics
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest

from scripts.topology import PG_BIN, PYTHON, ROOT, Topology, _port_open
from tests.readme import readme_verify
from tests.receiver import Receiver

pytestmark = [pytest.mark.slow]

CARD = {"payment_method": "card", "card_number": "4242 4242 4242 4242", "card_expiry": "12/34", "card_cvc": "123"}
AUTH_FAILURE_LIMIT = 10
signature_valid = readme_verify()


def _missing() -> list[str]:
    needed = ["/usr/sbin/nginx", "/usr/sbin/pgbouncer", str(PG_BIN / "initdb"), str(PG_BIN / "pg_basebackup")]
    return [p for p in needed if not Path(p).exists()] + ([] if shutil.which("redis-server") else ["redis-server"])


def _free_base() -> int:
    for base in range(18100, 18900, 100):
        if not any(_port_open(base + offset) for offset in (0, 1, 2, 10, 11, 20, 30)):
            return base
    pytest.fail("no free port block in 18100-18900")


@pytest.fixture(scope="module")
def topo():
    missing = _missing()
    if missing:  # make test installs them (scripts/topology-deps.sh); a bare pytest may not have
        pytest.skip(f"not installed: {', '.join(missing)} (make topology-deps)")
    base = _free_base()
    receiver = Receiver()
    topology = Topology(base, Path(f"/tmp/checkout-topology-test-{base}"), web_workers=1, web_threads=8,
                        worker_concurrency=2, extra_env={
                            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",  # the receiver is on loopback
                            "BEAT_INTERVAL_SCALE": "0.1",  # sweeps every 3-6 s instead of 30-60 s
                            "BEAT_STANDBY_SECONDS": "2",
                            "REPLICA_STICKY_SECONDS": "2", "REPLICA_CHECK_SECONDS": "1",
                            "API_AUTH_FAILURE_LIMIT": str(AUTH_FAILURE_LIMIT),
                            "CHECKOUT_CREATE_RATE_LIMIT": "0",
                        })
    shutil.rmtree(topology.state, ignore_errors=True)
    started = time.monotonic()
    try:
        topology.start()
        topology.started_in = time.monotonic() - started
        seeded = subprocess.run([PYTHON, "manage.py", "seed_demo", "--json"], cwd=ROOT, check=True, capture_output=True,
                                text=True, env=topology.env(DATABASE_URL=topology.database_url("primary")))
        topology.demo = json.loads(seeded.stdout)
        topology.receiver = receiver
        with httpx.Client(base_url=topology.url, headers=_auth(topology.demo["api_key"])) as client:
            answer = client.post("/api/v1/webhook-endpoints", json={"url": receiver.url, "enabled_events": ["*"]})
            assert answer.status_code == 201, answer.text
            topology.webhook_secret = answer.json()["secret"]
        yield topology
    finally:
        # Every process's log, kept where the suite keeps its artifacts (git-ignored), then all goes.
        artifacts = ROOT / "test-artifacts" / "topology"
        shutil.rmtree(artifacts, ignore_errors=True)
        if topology.logs.exists():
            shutil.copytree(topology.logs, artifacts, dirs_exist_ok=True)
        for pg_log in topology.state.glob("*-postgresql.log"):
            shutil.copy(pg_log, artifacts)
        topology.stop(purge=True)
        receiver.close()


def _auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _sql(topo: Topology, query: str, params=(), target: str = "primary") -> list[tuple]:
    with psycopg.connect(topo.database_url(target), autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def _session_body(topo: Topology) -> dict:
    demo = topo.demo
    return {"plan_id": demo["plans"]["Growth (monthly)"], "customer_id": demo["customers"][1],
            "success_url": "https://merchant.example/success?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://merchant.example/cancel", "pending_url": "https://merchant.example/pending"}


def _node(topo: Topology, name: str) -> str:
    return f"http://127.0.0.1:{topo.ports[name]}"


def _page_pay(client: httpx.Client, page_url: str) -> httpx.Response:
    """What a browser does: open the page, post the card with the form's CSRF token and cookie."""
    page = client.get(page_url)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    cookie = page.cookies.get("csrftoken") or re.search(r"csrftoken=([^;]+)", page.headers["set-cookie"]).group(1)
    return client.post(page_url, data={**CARD, "csrfmiddlewaretoken": token},
                       headers={"Cookie": f"csrftoken={cookie}", "Referer": page_url})


def _wait(predicate, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def _upstreams_seen(topo: Topology, path_part: str) -> set[str]:
    log = (topo.logs / "nginx-access.log").read_text()
    return {m.group(1) for m in re.finditer(rf'"\w+ [^"]*{re.escape(path_part)}[^"]*" \d+ .* upstream=127\.0\.0\.1:(\d+)',
                                           log)}


# --- the whole flow, across both nodes ---------------------------------------------------------


def _flow_create_page_pay_webhook_through_nginx_across_both_nodes(topo):
    key = topo.demo["api_key"]
    with httpx.Client(base_url=topo.url, headers=_auth(key), timeout=30) as api:
        created = [api.post("/api/v1/checkout-sessions", json=_session_body(topo)) for _ in range(4)]
    assert [r.status_code for r in created] == [201] * 4
    session = created[0].json()
    page_path = session["url"].removeprefix(topo.url)
    assert page_path.startswith("/pay/")
    # nginx spread the creates over both nodes.
    assert _upstreams_seen(topo, "/api/v1/checkout-sessions") == {str(topo.ports["web1"]), str(topo.ports["web2"])}

    # Both nodes render (and cache) the open page; the customer pays through node 1.
    for name in Topology.WEB:
        with httpx.Client(base_url=_node(topo, name)) as node:
            assert "card_number" in node.get(page_path).text
    with httpx.Client(base_url=_node(topo, "web1")) as customer:
        paid = _page_pay(customer, page_path)
    assert paid.status_code == 302, paid.text[:500]
    assert paid.headers["location"] == f"https://merchant.example/success?session={session['id']}"
    # Node 2's cached open page is not served again: its cache is keyed by the row's updated_at.
    with httpx.Client(base_url=_node(topo, "web2")) as node:
        again = node.get(page_path)
    assert "card_number" not in again.text
    # The API reads the primary (read-your-writes) on either node.
    for name in Topology.WEB:
        with httpx.Client(base_url=_node(topo, name), headers=_auth(key)) as node:
            assert node.get(f"/api/v1/checkout-sessions/{session['id']}").json()["status"] == "completed"

    # The merchant's webhook, sent by a worker, signed with the endpoint's secret.
    def completed():
        return [r for r in topo.receiver.requests
                if json.loads(r["body"])["type"] == "checkout_session.completed"
                and json.loads(r["body"])["data"]["object"]["id"] == session["id"]]

    [request] = _wait(completed, 30)
    assert signature_valid(request["headers"]["Checkout-Signature"], request["body"], topo.webhook_secret)
    [(amount, status)] = _sql(topo, "SELECT amount_total, status FROM checkout_checkoutsession WHERE id = %s",
                              [session["id"]])
    assert status == "completed"
    quoted = Decimal(session["estimates"]["current_invoice"]["total"])
    sent = json.loads(request["body"])["data"]["object"]["estimates"]["current_invoice"]["total"]
    assert amount == quoted == Decimal(sent) > 0  # charged what the page showed, to the cent


def _revoked_key_refused_by_both_nodes_that_cached_it(topo):
    org = topo.demo["organization_id"]
    raw = subprocess.run([PYTHON, "manage.py", "create_api_key", "--organization", org], cwd=ROOT, check=True,
                         capture_output=True, text=True,
                         env=topo.env(DATABASE_URL=topo.database_url("primary"))).stdout.strip()
    for name in Topology.WEB:  # each node verifies it once and keeps it in its key cache
        with httpx.Client(base_url=_node(topo, name), headers=_auth(raw)) as node:
            assert node.get("/api/v1/checkout-sessions?limit=1").status_code == 200
    _sql(topo, "UPDATE core_apikey SET revoked_at = now() WHERE organization_id = %s AND revoked_at IS NULL "
               "AND key_hash = encode(sha256(%s::bytea), 'hex')", [org, raw])
    [(revoked,)] = _sql(topo, "SELECT count(*) FROM core_apikey WHERE revoked_at IS NOT NULL")
    assert revoked == 1
    for name in Topology.WEB:
        with httpx.Client(base_url=_node(topo, name), headers=_auth(raw)) as node:
            answer = node.get("/api/v1/checkout-sessions?limit=1")
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "authentication_failed"


def _auth_failure_limit_shared_by_nodes_and_forwarded_for_trusted_one_hop(topo):
    bad = _auth("sk_test_" + "0" * 40)
    # Straight to the nodes, as nginx would call them for client 10.9.9.1 (one trusted hop).
    hop = {**bad, "X-Forwarded-For": "10.9.9.1"}
    statuses = []
    for i in range(AUTH_FAILURE_LIMIT):
        with httpx.Client(base_url=_node(topo, Topology.WEB[i % 2]), headers=hop) as node:
            statuses.append(node.get("/api/v1/checkout-sessions").status_code)
    assert statuses == [401] * AUTH_FAILURE_LIMIT
    for name in Topology.WEB:  # the count lives in Redis: both nodes block the address now
        with httpx.Client(base_url=_node(topo, name), headers=hop) as node:
            assert node.get("/api/v1/checkout-sessions").status_code == 429
    # Through nginx a client's own X-Forwarded-For is not believed: nginx appends the address it
    # saw, the app reads that one, so claiming to be 10.9.9.1 (blocked) or anyone else changes nothing.
    with httpx.Client(base_url=topo.url, headers=hop) as client:
        assert client.get("/api/v1/checkout-sessions").status_code == 401


# --- a web node killed mid-load ----------------------------------------------------------------


def _web_node_killed_mid_load_loses_and_duplicates_nothing(topo):
    key = topo.demo["api_key"]
    run = uuid.uuid4().hex[:8]
    stop = threading.Event()
    outcomes: dict[str, list[int]] = {}
    get_errors: list[int] = []
    cut: list[int] = []

    def creator(worker: int):
        with httpx.Client(base_url=topo.url, headers=_auth(key), timeout=30) as client:
            n = 0
            while not stop.is_set():
                idem = f"topo-{run}-{worker}-{n}"
                statuses = outcomes.setdefault(idem, [])
                for _attempt in range(6):  # what a merchant's client does: retry with the same key
                    try:
                        answer = client.post("/api/v1/checkout-sessions", json=_session_body(topo),
                                             headers={"Idempotency-Key": idem})
                        statuses.append(answer.status_code)
                        if answer.status_code == 201:
                            break
                    except httpx.TransportError:
                        statuses.append(0)
                    time.sleep(0.2)
                n += 1

    def reader():
        with httpx.Client(base_url=topo.url, headers=_auth(key), timeout=30) as client:
            while not stop.is_set():
                try:
                    answer = client.get("/api/v1/checkout-sessions?limit=5")
                except httpx.TransportError:
                    # A response the dying node had begun to send: nginx passed its headers on
                    # and cannot retry; the client retries a GET. At most one per reader.
                    cut.append(1)
                    continue
                if answer.status_code != 200:
                    get_errors.append(answer.status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(creator, i) for i in range(4)] + [pool.submit(reader) for _ in range(2)]
        time.sleep(3)
        topo.kill("web1")  # SIGKILL: in-flight requests die with it
        time.sleep(5)
        stop.set()
        for future in futures:
            future.result()
    try:
        assert len(outcomes) > 20
        # nginx retried the GETs on the other node: no reader got an error answer, and only a
        # response already on its way when the node died could be cut.
        assert get_errors == []
        assert len(cut) <= 2
        # One claim per key, never two sessions for one key.
        rows = _sql(topo, "SELECT r.key, r.status, count(s.id) FROM checkout_idempotencyrecord r LEFT JOIN "
                          "checkout_checkoutsession s ON s.id = r.checkout_session_id WHERE r.key LIKE %s "
                          "GROUP BY r.key, r.status", [f"topo-{run}-%"])
        claims = {key: (status, sessions) for key, status, sessions in rows}
        assert set(claims) <= set(outcomes)
        done = {k for k, v in outcomes.items() if v[-1] == 201}
        assert all(claims[k][1] == 1 for k in done)
        # A create that died with web1 left its claim behind: the key answers 409 (in use) until the
        # claim goes stale (idempotency.STALE_AFTER, 120 s), then the same request creates the session.
        # Nothing lost, nothing twice; time is moved forward on the claim instead of waiting.
        in_use = {k: v for k, v in outcomes.items() if v[-1] != 201}
        assert all(set(v) <= {0, 409, 502, 503} and v[-1] == 409 for v in in_use.values()), in_use
        assert all(claims[k] == ("in_progress", 0) for k in in_use), claims
        _sql(topo, "UPDATE checkout_idempotencyrecord SET created_at = created_at - interval '121 seconds' "
                   "WHERE key = ANY(%s)", [list(in_use)])
        with httpx.Client(base_url=topo.url, headers=_auth(key), timeout=30) as client:
            for idem in in_use:
                answer = client.post("/api/v1/checkout-sessions", json=_session_body(topo),
                                     headers={"Idempotency-Key": idem})
                assert answer.status_code == 201, answer.text
                replay = client.post("/api/v1/checkout-sessions", json=_session_body(topo),
                                     headers={"Idempotency-Key": idem})
                assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json() == answer.json()
        [(sessions,)] = _sql(topo, "SELECT count(s.id) FROM checkout_idempotencyrecord r JOIN checkout_checkoutsession s "
                                   "ON s.id = r.checkout_session_id WHERE r.key LIKE %s", [f"topo-{run}-%"])
        assert sessions == len(outcomes)
    finally:
        topo.web_start("web1")
        assert _wait(lambda: topo.web_ready("web1"), 60)


# --- beat: two started, one sends, the other takes over ----------------------------------------


def _beat_holders(topo: Topology) -> list[int]:
    rows = _sql(topo, "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                      "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'checkout-beat %%'")
    return [int(name.rsplit(" ", 1)[1]) for (name,) in rows]


def _active_beat_killed_other_takes_over_without_double_expiry(topo):
    pids = {topo.pid(name): name for name in Topology.BEATS}
    holders = _wait(lambda: _beat_holders(topo), 30)
    assert len(holders) == 1 and holders[0] in pids
    active = pids[holders[0]]
    standby = next(name for name in Topology.BEATS if name != active)
    # Sessions the next sweeps must expire, once each, whichever beat queues the sweep.
    key = topo.demo["api_key"]
    with httpx.Client(base_url=topo.url, headers=_auth(key), timeout=30) as api:
        ids = [api.post("/api/v1/checkout-sessions", json=_session_body(topo)).json()["id"] for _ in range(6)]
    _sql(topo, "UPDATE checkout_checkoutsession SET expires_at = now() - interval '1 second' WHERE id = ANY(%s)",
         [ids])
    killed_at = time.monotonic()
    topo.kill(active)
    try:
        took_over = _wait(lambda: _beat_holders(topo) == [topo.pid(standby)], 60)
        assert took_over, _beat_holders(topo)
        takeover_seconds = time.monotonic() - killed_at
        assert takeover_seconds < 60
        expired = _wait(lambda: _sql(topo, "SELECT count(*) FROM checkout_checkoutsession WHERE id = ANY(%s) "
                                           "AND status = 'expired'", [ids])[0][0] == len(ids), 40)
        assert expired
        events = _sql(topo, "SELECT checkout_session_id, count(*) FROM checkout_event WHERE type = "
                            "'checkout_session.expired' AND checkout_session_id = ANY(%s) GROUP BY 1", [ids])
        assert sorted(count for _id, count in events) == [1] * len(ids)
    finally:
        topo.beat_start(active)  # back, as a standby
    assert _wait(lambda: "standing by" in (topo.logs / f"{active}.log").read_text().rsplit("Starting...", 1)[-1], 30)
    assert _beat_holders(topo) == [topo.pid(standby)]


# --- PgBouncer restarted, the replica failed ---------------------------------------------------


def _replica_backends(topo: Topology) -> int:
    return _sql(topo, "SELECT count(*) FROM pg_stat_activity WHERE datname = 'checkout' AND backend_type = "
                      "'client backend' AND pid <> pg_backend_pid()", target="replica")[0][0]


def _lists_read_the_replica_and_fall_back_when_it_fails(topo):
    key = topo.demo["api_key"]
    time.sleep(2.5)  # past REPLICA_STICKY_SECONDS after this organization's last write
    with httpx.Client(base_url=topo.url, headers=_auth(key), timeout=30) as client:
        for _ in range(6):
            assert client.get("/api/v1/checkout-sessions?limit=3").status_code == 200
        assert _replica_backends(topo) >= 1  # the nodes hold replica connections now
        topo.pg_stop("replica", mode="immediate")
        try:
            statuses = [client.get("/api/v1/checkout-sessions?limit=3").status_code for _ in range(10)]
            assert statuses == [200] * 10
            # A write, then the list on either node: read-your-writes from the primary.
            created = client.post("/api/v1/checkout-sessions", json=_session_body(topo)).json()["id"]
            listed = client.get("/api/v1/checkout-sessions?limit=1").json()["data"][0]["id"]
            assert listed == created
        finally:
            topo.pg_start("replica")
        time.sleep(2.5)
        assert _wait(lambda: client.get("/api/v1/checkout-sessions?limit=3").status_code == 200
                     and _replica_backends(topo) >= 1, 30)


def _pgbouncer_restart_then_requests_succeed(topo):
    key = topo.demo["api_key"]
    with httpx.Client(base_url=topo.url, headers=_auth(key), timeout=30) as client:
        assert client.post("/api/v1/checkout-sessions", json=_session_body(topo)).status_code == 201
        topo.stop_process("pgbouncer")
        down = client.post("/api/v1/checkout-sessions", json=_session_body(topo))
        assert down.status_code == 503 and down.json()["error"]["code"]  # the envelope, not a hang
        topo.pgbouncer_start()
        # The nodes' pooled connections died with PgBouncer; each is replaced on its next use.
        assert _wait(lambda: client.post("/api/v1/checkout-sessions", json=_session_body(topo)).status_code == 201, 15)
        statuses = [client.post("/api/v1/checkout-sessions", json=_session_body(topo)).status_code for _ in range(10)]
    assert statuses == [201] * 10


def _no_server_side_prepared_statements_under_load_through_pgbouncer(topo):
    """Every statement the primary runs while 8 clients create, open and pay sessions through
    PgBouncer, logged: none is a named prepared statement (psycopg's ``_pg3_*``)."""
    key = topo.demo["api_key"]
    _sql(topo, "ALTER SYSTEM SET log_statement = 'all'")
    _sql(topo, "SELECT pg_reload_conf()")
    log = topo.state / "primary-postgresql.log"
    start_offset = log.stat().st_size
    statuses: list[int] = []
    try:
        def client_loop(_n):
            with httpx.Client(base_url=topo.url, headers=_auth(key), timeout=30) as client:
                deadline = time.monotonic() + 6
                while time.monotonic() < deadline:
                    created = client.post("/api/v1/checkout-sessions", json=_session_body(topo))
                    statuses.append(created.status_code)
                    if created.status_code == 201:
                        statuses.append(_page_pay(client, created.json()["url"].removeprefix(topo.url)).status_code)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(client_loop, range(8)))
    finally:
        _sql(topo, "ALTER SYSTEM RESET log_statement")
        _sql(topo, "SELECT pg_reload_conf()")
    with log.open("rb") as f:
        f.seek(start_offset)
        text = f.read().decode("utf-8", "replace")
    assert len(statuses) > 20 and set(statuses) <= {201, 302}, statuses
    logged = len(re.findall(r"LOG:  (statement|execute)", text))
    named = re.findall(r"LOG:  execute (?!<unnamed>)(\S+):", text) + re.findall(r"statement: PREPARE", text)
    assert logged > 500  # the log holds the load's statements, so the next line can fail
    assert named == []


# --- slow clients ------------------------------------------------------------------------------


def _p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]


def _slow_body_clients_do_not_slow_normal_requests(topo):
    key = topo.demo["api_key"]
    with httpx.Client(base_url=topo.url, headers=_auth(key), timeout=30) as api:
        page_path = api.post("/api/v1/checkout-sessions", json=_session_body(topo)).json()["url"].removeprefix(topo.url)

    def run(n: int) -> list[float]:
        latencies = []
        with httpx.Client(base_url=topo.url, timeout=30) as client:
            for _ in range(n):
                started = time.perf_counter()
                assert client.get(page_path).status_code == 200
                latencies.append((time.perf_counter() - started) * 1000)
        return latencies

    def stalled_clients(n: int = 100) -> list[socket.socket]:
        """Each sends headers and 1 byte of a 1000-byte body, then nothing (nginx gives up on
        them after client_body_timeout, 10 s: each round is shorter)."""
        socks = []
        for _ in range(n):
            sock = socket.create_connection(("127.0.0.1", topo.ports["nginx"]))
            sock.sendall(b"POST /api/v1/checkout-sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                         b"application/json\r\nContent-Length: 1000\r\nAuthorization: Bearer " + key.encode()
                         + b"\r\n\r\n{")
            socks.append(sock)
        return socks

    run(20)  # warm both nodes' page caches
    ratios, slowest = [], 0.0
    for _round in range(5):  # interleaved, so the shared machine's drift weighs on both sides alike
        quiet = run(60)
        slow = stalled_clients()
        try:
            loaded = run(60)
        finally:
            for sock in slow:
                sock.close()
        # 2x a quiet run's p99, with a 10 ms floor: a quiet p99 of a few ms doubles on scheduler noise alone.
        ratios.append(_p99(loaded) / max(_p99(quiet), 10.0))
        slowest = max(slowest, *loaded)
    # Without a buffering proxy the stalled bodies hold the workers and normal requests wait seconds
    # (past 10 s before nginx); with it they keep the quiet run's p99. A round's p99 of 60 requests
    # is nearly its slowest one, which one scheduler hiccup of this shared machine can double
    # (seen: 250 ms once at load 9): the rounds' median ratio is the measure, and no request of any
    # round may take two seconds.
    assert statistics.median(ratios) <= 2, ratios
    assert slowest < 2000, slowest


# --- Redis down 30 s under load ----------------------------------------------------------------


def _redis_outage_under_load_every_event_delivered_within_a_minute(topo):
    key = topo.demo["api_key"]
    workers_before = {name: topo.pid(name) for name in (*Topology.WORKERS, *Topology.BEATS)}
    stop = threading.Event()
    cancelled: list[str] = []
    failures: list[int] = []

    def load():
        with httpx.Client(base_url=topo.url, headers=_auth(key), timeout=30) as client:
            while not stop.is_set():
                created = client.post("/api/v1/checkout-sessions", json=_session_body(topo))
                if created.status_code != 201:
                    failures.append(created.status_code)
                    continue
                session_id = created.json()["id"]
                answer = client.post(f"/api/v1/checkout-sessions/{session_id}/cancel")
                if answer.status_code == 200:
                    cancelled.append(session_id)
                else:
                    failures.append(answer.status_code)
                time.sleep(0.1)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        time.sleep(1.5)
        topo.stop_process("redis")
        time.sleep(30)
    finally:
        topo.redis_start()
        back_at = time.monotonic()
        time.sleep(1.5)
        stop.set()
        thread.join()
    assert failures == []  # the API kept answering without Redis (events wait in the outbox)
    assert len(cancelled) >= 30

    def undelivered():
        seen = {json.loads(r["body"])["data"]["object"]["id"] for r in topo.receiver.requests
                if json.loads(r["body"])["type"] == "checkout_session.cancelled"}
        return set(cancelled) - seen

    assert _wait(lambda: not undelivered(), 60, interval=1), f"{len(undelivered())} of {len(cancelled)} undelivered"
    assert time.monotonic() - back_at < 60
    # Nobody restarted anything: the same worker and beat processes are still there.
    assert {name: topo.pid(name) for name in workers_before} == workers_before


# --- one test: one topology, one xdist worker, one order ---------------------------------------

STEPS = [
    _flow_create_page_pay_webhook_through_nginx_across_both_nodes,
    _revoked_key_refused_by_both_nodes_that_cached_it,
    _auth_failure_limit_shared_by_nodes_and_forwarded_for_trusted_one_hop,
    _web_node_killed_mid_load_loses_and_duplicates_nothing,
    _active_beat_killed_other_takes_over_without_double_expiry,
    _lists_read_the_replica_and_fall_back_when_it_fails,
    _pgbouncer_restart_then_requests_succeed,
    _no_server_side_prepared_statements_under_load_through_pgbouncer,
    _slow_body_clients_do_not_slow_normal_requests,
    _redis_outage_under_load_every_event_delivered_within_a_minute,
]


def test_topology_survives_what_operators_do(topo):
    """Every step above, in turn, on one topology. One test function, so that xdist (``make test``
    runs ``-n auto``) never starts a second topology in another worker, and pytest-randomly never
    puts a node kill between two other steps' requests; each step leaves every process running."""
    timings = {}
    for step in STEPS:
        started = time.monotonic()
        step(topo)
        timings[step.__name__] = round(time.monotonic() - started, 1)
    print(f"topology started in {topo.started_in:.0f} s; steps: {timings}")
