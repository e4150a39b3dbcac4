"""The reference topology on one machine (issue #30), every piece an engine operators already run:

    nginx :B  ->  web1 :B+1, web2 :B+2 (gunicorn, config/gunicorn.py)
                    |-> PgBouncer :B+20 (transaction mode) -> primary PostgreSQL :B+10
                    |-> replica PostgreSQL :B+11 (streaming, made with pg_basebackup): lag-tolerant reads
                    '-> Redis :B+30 (cache, rate limits, Celery broker)
    worker1, worker2 (Celery) -> PgBouncer, Redis
    beat1, beat2 (Celery beat; one sends, under an advisory lock on the primary)

B is the base port (18000 by default, `--base`). Everything listens on 127.0.0.1 only, runs from
Debian's packages (scripts/topology-deps.sh) and this repository's virtualenv, and keeps its data,
configuration, logs and pid files in one state directory (/tmp/checkout-topology-B). Passwords are
generated at the first start and stay in that directory (mode 0600), never in the repository.

    python scripts/topology.py start [--base 18000]   # `make topology`
    python scripts/topology.py stop  [--base 18000] [--purge]   # `make topology-stop`
    python scripts/topology.py status [--base 18000]

``stop`` ends only the processes this tool started (their pid files, checked against each
process's start time), never anything else on the machine. tests/topology/ drives the same class.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
DEPLOY = ROOT / "deploy"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable


def _run_as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: as root, its commands run as the postgres user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/<pid>/stat): tells our process
    from a later one that reused its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


class Topology:
    def __init__(self, base: int = 18000, state: Path | None = None, *, web_workers: int = 2, web_threads: int = 8,
                 worker_concurrency: int = 2, extra_env: dict[str, str] | None = None):
        self.base = base
        self.state = Path(state or f"/tmp/checkout-topology-{base}")
        self.web_workers, self.web_threads = web_workers, web_threads
        self.worker_concurrency = worker_concurrency
        self.extra_env = dict(extra_env or {})
        self.ports = {
            "nginx": base, "web1": base + 1, "web2": base + 2,
            "primary": base + 10, "replica": base + 11, "pgbouncer": base + 20, "redis": base + 30,
        }

    # --- paths and secrets ------------------------------------------------------------------

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    def secret(self, name: str) -> str:
        """A password or key made at the first start, kept in the state directory."""
        path = self.state / "secrets" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def database_url(self, target: str = "pgbouncer") -> str:
        """postgres URL of the app's database through ``target``: pgbouncer, primary or replica."""
        return f"postgres://checkout:{self.secret('db_password')}@127.0.0.1:{self.ports[target]}/checkout"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['nginx']}"

    def env(self, **overrides: str) -> dict[str, str]:
        """What every app process runs with (config/settings.py reads all of it)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "CELERY_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(ROOT),
            DEBUG="false", SECRET_KEY=self.secret("django_secret_key"),
            ALLOWED_HOSTS="127.0.0.1,localhost", PUBLIC_BASE_URL=self.url,
            # Plain HTTP on loopback: nginx would end TLS in production (deploy/nginx/checkout.conf).
            SECURE_SSL_REDIRECT="false", STATIC_MANIFEST="false",
            DATABASE_URL=self.database_url("pgbouncer"), DB_PREPARE_THRESHOLD="0",
            DATABASE_REPLICA_URL=self.database_url("replica"),
            BEAT_LOCK_DATABASE_URL=self.database_url("primary"),
            REDIS_URL=f"redis://127.0.0.1:{self.ports['redis']}/0",
            TRUSTED_PROXY_COUNT="1", METRICS_TOKEN=self.secret("metrics_token"),
        )
        env.update(self.extra_env)
        env.update(overrides)
        return env

    # --- processes --------------------------------------------------------------------------

    def _spawn(self, name: str, cmd: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "ab") as log:
            process = subprocess.Popen(cmd, cwd=ROOT, env=env or self.env(), stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        (self.pids / f"{name}.pid").write_text(f"{process.pid} {_start_time(process.pid)}\n")
        return process

    def pid(self, name: str) -> int | None:
        """The pid of ``name`` if it is still the process we started."""
        path = self.pids / f"{name}.pid"
        if not path.exists():
            return None
        pid, started = path.read_text().split()
        with suppress(ChildProcessError):
            os.waitpid(int(pid), os.WNOHANG)  # our child that died: reap it (a zombie keeps its /proc entry)
        return int(pid) if _start_time(int(pid)) == started else None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to ``name``'s process group (a crash when SIGKILL)."""
        pid = self.pid(name)
        if pid is not None:
            with suppress(ProcessLookupError):
                os.killpg(pid, sig)

    def _gone(self, name: str, pid: int) -> bool:
        return self.pid(name) is None

    def stop_processes(self, *names: str, timeout: float = 15.0) -> None:
        """SIGTERM to each (its process group), then SIGKILL to whatever is left after ``timeout``."""
        running = {name: pid for name in names if (pid := self.pid(name)) is not None}
        for pid in running.values():
            with suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while running and time.monotonic() < deadline:
            running = {name: pid for name, pid in running.items() if not self._gone(name, pid)}
            time.sleep(0.05)
        for name, pid in running.items():
            if timeout:
                print(f"topology: {name} ignored SIGTERM for {timeout:.0f} s; killed", file=sys.stderr)
            with suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_for(lambda n=name, p=pid: self._gone(n, p), 5)
        for name in names:
            (self.pids / f"{name}.pid").unlink(missing_ok=True)

    def stop_process(self, name: str, timeout: float = 15.0) -> None:
        self.stop_processes(name, timeout=timeout)

    def _wait(self, what: str, ready, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{what} not ready after {timeout:.0f} s (logs: {self.logs})")

    # --- PostgreSQL -------------------------------------------------------------------------

    def _pg(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*_run_as_postgres(), *args], check=check, capture_output=True, text=True,
                              env=env, cwd="/tmp")

    def _pg_dir(self, name: str) -> Path:
        return self.state / name

    def _pg_ready(self, name: str) -> bool:
        return self._pg(str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.ports[name]),
                        check=False).returncode == 0

    def pg_start(self, name: str) -> None:
        datadir = self._pg_dir(name)
        if self._pg_ready(name):
            return
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.state / f"{name}-postgresql.log"
        log.touch()
        if os.geteuid() == 0:
            shutil.chown(log, "postgres")
        self._pg(str(PG_BIN / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(datadir), "-l", str(log),
                 "-o", f"-p {self.ports[name]}")

    def pg_stop(self, name: str, mode: str = "fast") -> None:
        datadir = self._pg_dir(name)
        if (datadir / "postmaster.pid").exists():
            self._pg(str(PG_BIN / "pg_ctl"), "stop", "-w", "-t", "60", "-m", mode, "-D", str(datadir), check=False)

    def _primary_init(self) -> None:
        datadir = self._pg_dir("primary")
        if (datadir / "PG_VERSION").exists():
            return
        pwfile = self.state / "initdb_pw"
        pwfile.write_text(self.secret("db_password") + "\n")
        pwfile.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
        datadir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(datadir, "postgres")
        self._pg(str(PG_BIN / "initdb"), "-D", str(datadir), "-U", "checkout", "--auth=scram-sha-256",
                 f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8",
                 "--no-sync")  # a new, empty cluster: nothing to lose to an OS crash in the next seconds
        pwfile.unlink()
        conf = datadir / "postgresql.conf"
        with conf.open("a") as f:
            f.write("\n# scripts/topology.py\n"
                    "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                    "max_connections = 100\nshared_buffers = 128MB\n"
                    "wal_level = replica\nmax_wal_senders = 5\nwal_keep_size = 256MB\nhot_standby = on\n"
                    "hot_standby_feedback = on\n"
                    "log_line_prefix = '%m [%p] %a '\n")
        self.pg_start("primary")
        psql = [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U", "checkout",
                "-v", "ON_ERROR_STOP=1", "-d", "postgres"]
        env = {"PGPASSWORD": self.secret("db_password"), "PATH": os.environ.get("PATH", "")}
        self._pg(*psql, "-c", "CREATE DATABASE checkout", env=env)
        self._pg(*psql, "-c", f"CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD "
                              f"'{self.secret('replication_password')}'", env=env)

    def _replica_init(self) -> None:
        datadir = self._pg_dir("replica")
        if (datadir / "PG_VERSION").exists():
            return
        env = {"PGPASSWORD": self.secret("replication_password"), "PATH": os.environ.get("PATH", "")}
        if datadir.exists():
            shutil.rmtree(datadir)
        datadir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(datadir, "postgres")
        # -R: standby.signal and primary_conninfo; -X stream: the WAL made during the copy comes along.
        self._pg(str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U",
                 "replicator", "-D", str(datadir), "-R", "-X", "stream", "-c", "fast", env=env)
        with (datadir / "postgresql.auto.conf").open("a") as f:
            f.write(f"port = {self.ports['replica']}\n")

    # --- the schema: migrations, or a dump of what the same migrations made before -----------

    def _schema_cache(self) -> Path:
        """Where a fresh database's migrated dump is kept, named by the migrations' digest: running
        all migrations costs ~40 s of CPU here, restoring their result ~2 s. Outside the repository;
        a change to any migration is another file."""
        digest = hashlib.sha256()
        for path in sorted(ROOT.glob("*/migrations/*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
        return Path(os.environ.get("TOPOLOGY_CACHE", "/tmp/checkout-topology-cache")) / f"{digest.hexdigest()[:16]}.sql"

    def _psql_env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.secret("db_password"), "PATH": os.environ.get("PATH", "")}

    def _migrate_start(self) -> subprocess.Popen:
        log = open(self.state / "migrate.log", "wb")  # the child process writes to it
        self._fresh_schema = not self._sql_scalar("SELECT to_regclass('django_migrations') IS NOT NULL")
        cache = self._schema_cache()
        if self._fresh_schema and cache.exists():
            self._fresh_schema = False  # nothing to save afterwards
            cmd = [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                   str(self.ports["primary"]), "-U", "checkout", "-d", "checkout", "-f", str(cache)]
            return subprocess.Popen(cmd, env=self._psql_env(), stdout=log, stderr=subprocess.STDOUT)
        return subprocess.Popen([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                                env=self.env(DATABASE_URL=self.database_url("primary")), stdout=log,
                                stderr=subprocess.STDOUT)

    def _schema_cache_save(self) -> None:
        cache = self._schema_cache()
        if not self._fresh_schema or cache.exists():
            return
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.part")
        subprocess.run([str(PG_BIN / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U", "checkout",
                        "--no-owner", "--no-privileges", "-d", "checkout", "-f", str(partial)],
                       env=self._psql_env(), check=True, capture_output=True)
        partial.replace(cache)  # whole or not at all, whoever else writes the same file

    def _sql_scalar(self, query: str):
        answer = subprocess.run([str(PG_BIN / "psql"), "-tA", "-h", "127.0.0.1", "-p", str(self.ports["primary"]),
                                 "-U", "checkout", "-d", "checkout", "-c", query], env=self._psql_env(),
                                check=True, capture_output=True, text=True)
        return answer.stdout.strip() == "t"

    # --- configuration files ----------------------------------------------------------------

    def _pgbouncer_config(self) -> Path:
        conf = self.state / "pgbouncer"
        conf.mkdir(parents=True, exist_ok=True)
        users = conf / "userlist.txt"
        users.write_text(f'"checkout" "{self.secret("db_password")}"\n')
        users.chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(conf, "postgres")
            shutil.chown(users, "postgres")
        # The production example's [pgbouncer] settings, with this machine's ports and files.
        shipped = (DEPLOY / "pgbouncer" / "pgbouncer.ini").read_text()
        settings = shipped.split("\n[pgbouncer]\n", 1)[1]
        replaced = {"listen_addr": "127.0.0.1", "listen_port": str(self.ports["pgbouncer"]),
                    "auth_file": str(users), "max_client_conn": "400", "default_pool_size": "8"}
        lines = []
        for line in settings.splitlines():
            key = line.split("=", 1)[0].strip()
            lines.append(f"{key} = {replaced.pop(key)}" if key in replaced else line)
        lines += [f"{k} = {v}" for k, v in replaced.items()]
        ini = conf / "pgbouncer.ini"
        ini.write_text(
            "; generated by scripts/topology.py from deploy/pgbouncer/pgbouncer.ini\n[databases]\n"
            f"checkout = host=127.0.0.1 port={self.ports['primary']} dbname=checkout\n\n[pgbouncer]"
            + "\n" + "\n".join(lines)
            + f"\nunix_socket_dir =\npidfile = {conf / 'pgbouncer.pid'}\nadmin_users = checkout\n")
        return ini

    def _nginx_config(self) -> Path:
        conf = self.state / "nginx"
        conf.mkdir(parents=True, exist_ok=True)  # nginx makes the temp folders, for its workers' user
        path = conf / "nginx.conf"
        path.write_text(f"""# generated by scripts/topology.py; the proxy settings are deploy/nginx/'s
daemon off;
worker_processes 1;
pid {conf / 'nginx.pid'};
error_log {self.logs / 'nginx-error.log'} warn;
events {{ worker_connections 2048; }}
http {{
    include /etc/nginx/mime.types;
    include {DEPLOY / 'nginx' / 'checkout-log.conf'};
    access_log {self.logs / 'nginx-access.log'} checkout;
    client_body_temp_path {conf / 'client_body'};
    proxy_temp_path {conf / 'proxy'};
    fastcgi_temp_path {conf / 'fastcgi'};
    uwsgi_temp_path {conf / 'uwsgi'};
    scgi_temp_path {conf / 'scgi'};
    upstream checkout_web {{
        server 127.0.0.1:{self.ports['web1']} max_fails=1 fail_timeout=5s;
        server 127.0.0.1:{self.ports['web2']} max_fails=1 fail_timeout=5s;
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{self.ports['nginx']};
        server_name _;
        include {DEPLOY / 'nginx' / 'checkout-proxy.conf'};
        include {DEPLOY / 'nginx' / 'checkout-locations.conf'};
    }}
}}
""")
        return path

    # --- the pieces -------------------------------------------------------------------------

    def redis_start(self) -> None:
        if self.pid("redis") is None:
            self._spawn("redis", ["redis-server", "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", str(self.state)])
        self._wait("redis", lambda: _port_open(self.ports["redis"]), 20)

    def pgbouncer_start(self) -> None:
        if self.pid("pgbouncer") is None:
            # PgBouncer, like PostgreSQL, will not run as root.
            self._spawn("pgbouncer", [*_run_as_postgres(), "/usr/sbin/pgbouncer", str(self._pgbouncer_config())])
        self._wait("pgbouncer", lambda: _port_open(self.ports["pgbouncer"]), 20)

    def web_start(self, name: str) -> None:
        if self.pid(name) is None:
            self._spawn(name, [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"],
                        env=self.env(GUNICORN_BIND=f"127.0.0.1:{self.ports[name]}",
                                     GUNICORN_WORKERS=str(self.web_workers), GUNICORN_THREADS=str(self.web_threads),
                                     GUNICORN_ACCESS_LOG=str(self.logs / f"{name}-access.log"),
                                     PROMETHEUS_MULTIPROC_DIR=str(self.state / f"{name}-prometheus")))

    def web_ready(self, name: str) -> bool:
        return _http_status(f"http://127.0.0.1:{self.ports[name]}/healthz") == 200

    def nginx_start(self) -> None:
        if self.pid("nginx") is None:
            self._spawn("nginx", ["/usr/sbin/nginx", "-c", str(self._nginx_config()), "-e",
                                  str(self.logs / "nginx-error.log")])
        self._wait("nginx", lambda: _port_open(self.ports["nginx"]), 20)

    def worker_start(self, name: str) -> None:
        if self.pid(name) is None:
            self._spawn(name, [PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
                               "--hostname", f"{name}@%h", "--concurrency", str(self.worker_concurrency)])

    def beat_start(self, name: str) -> None:
        if self.pid(name) is None:
            self._spawn(name, [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                               "--schedule", str(self.state / f"{name}-schedule")])

    WEB = ("web1", "web2")
    WORKERS = ("worker1", "worker2")
    BEATS = ("beat1", "beat2")

    def _step(self, what: str, since: float) -> float:
        now = time.monotonic()
        print(f"topology: {what} in {now - since:.1f} s", file=sys.stderr, flush=True)
        return now

    def start(self, *, seed: bool = False) -> None:
        missing = [p for p in ("/usr/sbin/nginx", "/usr/sbin/pgbouncer", str(PG_BIN / "initdb"),
                               shutil.which("redis-server") or "redis-server") if not Path(p).exists()]
        if missing:
            raise RuntimeError(f"missing {', '.join(missing)}: run `make topology-deps` (scripts/topology-deps.sh)")
        self.state.mkdir(parents=True, exist_ok=True)
        self.state.chmod(0o755)
        t = time.monotonic()
        self.redis_start()
        self._primary_init()
        self.pg_start("primary")
        t = self._step("primary up", t)
        # Migrations on the primary directly (a migration may take session-level locks), while
        # the replica is copied and the Python processes import Django: none needs a table yet.
        migrate = self._migrate_start()
        # The replica is copied and started beside everything else: nothing waits for it (reads
        # fall back to the primary) but the end of start().
        replica_failed: list[BaseException] = []

        def replica_up():
            try:
                self._replica_init()
                self.pg_start("replica")
            except BaseException as error:  # noqa: BLE001 - raised again below, in start()'s thread
                replica_failed.append(error)

        replica = threading.Thread(target=replica_up)
        replica.start()
        self.pgbouncer_start()
        for name in self.WEB:
            self.web_start(name)
        for name in self.WORKERS:
            self.worker_start(name)
        for name in self.BEATS:
            self.beat_start(name)
        self.nginx_start()
        if migrate.wait() != 0:
            raise RuntimeError(f"migrate failed: {(self.state / 'migrate.log').read_text()[-2000:]}")
        self._schema_cache_save()
        t = self._step("migrated", t)
        for name in self.WEB:
            self._wait(name, lambda n=name: self.web_ready(n), 90)
        self._wait("nginx -> web", lambda: _http_status(f"{self.url}/readyz") == 200, 30)
        t = self._step("web nodes answering through nginx", t)
        replica.join()
        if replica_failed:
            raise replica_failed[0]
        self._step("replica streaming", t)
        if seed:
            subprocess.run([PYTHON, "manage.py", "seed_demo", "--banner"], cwd=ROOT, check=True,
                           env=self.env(DATABASE_URL=self.database_url("primary")))

    def stop(self, *, purge: bool = False) -> None:
        """Stop what this tool started, the clients before the servers."""
        t = time.monotonic()
        # Purging: nothing to finish cleanly (running tasks, open requests), the data goes anyway.
        self.stop_processes("nginx", *self.WEB, *self.BEATS, *self.WORKERS, timeout=0.5 if purge else 15)
        t = self._step("app processes stopped", t)
        self.stop_process("pgbouncer")
        # No shutdown checkpoint either.
        self.pg_stop("replica", "immediate" if purge else "fast")
        self.pg_stop("primary", "immediate" if purge else "fast")
        self.stop_process("redis")
        self._step("PgBouncer, PostgreSQL and Redis stopped", t)
        if purge:
            shutil.rmtree(self.state, ignore_errors=True)

    def status(self) -> dict[str, str]:
        names = ("nginx", *self.WEB, *self.WORKERS, *self.BEATS, "pgbouncer", "redis")
        answer = {name: "running" if self.pid(name) else "stopped" for name in names}
        for name in ("primary", "replica"):
            answer[name] = "running" if self._pg_ready(name) else "stopped"
        return answer


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--base", type=int, default=int(os.environ.get("TOPOLOGY_PORT_BASE", "18000")))
    parser.add_argument("--purge", action="store_true", help="stop: also delete the state directory (all data)")
    args = parser.parse_args()
    topology = Topology(args.base)
    if args.command == "start":
        try:
            topology.start(seed=True)
        except Exception:
            print(f"start failed; logs in {topology.logs}. Stopping what started.", file=sys.stderr)
            topology.stop()
            raise
        print(f"\nTopology up: {topology.url} (nginx -> web {topology.ports['web1']}, {topology.ports['web2']}; "
              f"PgBouncer {topology.ports['pgbouncer']}; primary {topology.ports['primary']}, replica "
              f"{topology.ports['replica']}; Redis {topology.ports['redis']}; 2 workers, 2 beats).\n"
              f"State, logs and generated passwords: {topology.state}. Stop: make topology-stop")
    elif args.command == "stop":
        topology.stop(purge=args.purge)
    else:
        print(json.dumps(topology.status(), indent=2))


if __name__ == "__main__":
    main()
