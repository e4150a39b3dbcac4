"""The README's code is what merchants copy: run it."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from bench.common import free_port
from checkout.models import WebhookEndpoint
from checkout.webhooks.delivery import webhook_signature, webhook_signature_header
from tests.readme import README, ROOT, RUNNABLE, readme_runnable_blocks
from tests.readme import readme_verify as _readme_verify


def test_readme_webhook_verification_snippet_accepts_our_signature_and_nothing_else():
    verify = _readme_verify()
    body, secret, now = b'{"id": "evt_1", "type": "checkout_session.completed"}', "whsec_test", int(time.time())
    header = webhook_signature(secret=secret, timestamp=now, body=body)
    assert verify(header, body, secret) is True
    assert verify(header, body + b" ", secret) is False
    assert verify(header, body, "whsec_other") is False
    stale = webhook_signature(secret=secret, timestamp=now - 600, body=body)
    assert verify(stale, body, secret) is False
    assert verify("garbage", body, secret) is False


def test_readme_snippet_accepts_either_secret_during_a_roll_and_only_the_new_one_after():
    verify = _readme_verify()
    body, now = b'{"id": "evt_2"}', int(time.time())
    rolling = WebhookEndpoint(secret="whsec_new", previous_secret="whsec_old",
                              previous_secret_expires_at=timezone.now() + timedelta(hours=1))
    header = webhook_signature_header(endpoint=rolling, timestamp=now, body=body, now=timezone.now())
    assert header.count("v1=") == 2
    assert verify(header, body, "whsec_new") is True and verify(header, body, "whsec_old") is True
    assert verify(header, body, "whsec_other") is False
    later = timezone.now() + timedelta(hours=2)
    header = webhook_signature_header(endpoint=rolling, timestamp=now, body=body, now=later)
    assert header.count("v1=") == 1
    assert verify(header, body, "whsec_new") is True and verify(header, body, "whsec_old") is False


def test_readme_opens_with_the_two_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [["make", "run"], ["make", "test"]]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci


def test_readme_standard_webhooks_receiver_accepts_our_delivery_and_nothing_else():
    from checkout.models import WebhookEndpoint
    from checkout.tokens import webhook_secret_new
    from checkout.webhooks.delivery import standard_webhook_headers

    block = next(b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "def receive" in b)
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102 - our own README
    receive = namespace["receive"]
    endpoint = WebhookEndpoint(secret=webhook_secret_new())
    body = b'{"id": "evt_9", "type": "checkout_session.completed"}'
    headers = standard_webhook_headers(endpoint=endpoint, message_id="evt_9", timestamp=int(time.time()),
                                       body=body, now=timezone.now())
    assert receive(body, headers, endpoint.secret) == {"id": "evt_9", "type": "checkout_session.completed"}
    assert receive(body + b" ", headers, endpoint.secret) is None
    assert receive(body, headers, webhook_secret_new()) is None


def test_readme_production_steps_never_sync_dev_tools_back():
    """`uv sync --no-dev` then a plain `uv run` would reinstall the dev group: every production
    command must be `uv run --no-sync`."""
    section = README.split("## Running in production", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line.strip() for line in block.splitlines() if line.strip().startswith("uv ")]
    assert any(c.startswith("uv sync") and "--no-dev" in c and "--frozen" in c for c in commands)
    runs = [c for c in commands if c.startswith("uv run")]
    assert runs and all(c.startswith("uv run --no-sync ") for c in runs), runs


def test_ops_scrape_config_matches_the_metrics_endpoint(client, settings, db):
    """docs/ops.md's Prometheus example scrapes what /metrics serves, the way it wants to be asked."""
    import yaml
    from django.urls import reverse

    ops = (Path(__file__).resolve().parent.parent / "docs" / "ops.md").read_text()
    config = yaml.safe_load(re.search(r"```yaml\n(.*?)```", ops, re.S).group(1))
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == reverse("metrics") == "/metrics"
    assert job["authorization"]["type"] == "Bearer" and job["authorization"]["credentials_file"]
    settings.METRICS_TOKEN = "from-the-credentials-file"
    answer = client.get(job["metrics_path"], HTTP_AUTHORIZATION=f"{job['authorization']['type']} "
                                                                 "from-the-credentials-file")
    assert answer.status_code == 200 and b"checkout_http_request_duration_seconds" in answer.content
    assert "docs/ops.md" in README


# --- the README, command by command ---------------------------------------------------------------


def test_readme_names_nothing_outside_the_repository():
    assert "../shared" not in README and "PRODUCT.md" not in README
    for link in re.findall(r"\]\(([^)#]+)", README):
        if "://" not in link:
            assert (ROOT / link).exists(), link
    assert "[`docs/product.md`](docs/product.md)" in README


def test_readme_shell_commands_never_rely_on_an_activated_environment():
    """`python manage.py` fails with "No module named 'django'" unless a virtualenv is active, and
    `uv run` would sync the dev tools back into `make run`'s install: commands use .venv/bin/python."""
    commands = [line for block in re.findall(r"```bash\n(.*?)```", README, re.S) for line in block.splitlines()]
    commands += re.findall(r"`([^`]*manage\.py[^`]*)`", README)
    uses = [command[:found.start()] for command in commands for found in re.finditer(r"python3? manage\.py", command)]
    assert uses and all(before.endswith((".venv/bin/", "uv run --no-sync ")) for before in uses), uses
    assert ".venv/bin/python manage.py settle_payments" in README


def test_readme_runnable_blocks_are_found_in_order():
    blocks = readme_runnable_blocks()
    assert len(blocks) >= 3
    assert README.count(RUNNABLE) == len(blocks)  # every marker sits right above a ```bash fence
    assert "checkout-sessions" in blocks[0] and "seed_demo" in blocks[-1]


def _demo_env(tmp_path, port: int) -> dict:
    """A reader's shell: no test settings, the demo's own SQLite file (not the repository's)."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    return {**env, "PORT": str(port), "PYTHON": sys.executable,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}


@pytest.fixture
def demo_server(tmp_path):
    """scripts/demo.sh (what `make run` runs after installing) on a free port: (env, export line)."""
    port = free_port()
    env = _demo_env(tmp_path, port)
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        server = subprocess.Popen(["bash", "scripts/demo.sh"], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        exports = [line.strip() for line in log.read_text().splitlines() if line.strip().startswith("export ")]
        assert len(exports) == 1, log.read_text()
        yield env, exports[0]
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # runserver's autoreloader has a child
        server.wait(timeout=30)


@pytest.mark.slow
def test_readme_runnable_blocks_work_verbatim_against_the_demo(demo_server, tmp_path):
    """The banner's export line pasted into a second terminal, then every block marked runnable, in
    order, in that one shell: each command exits 0 and no API answer is an error envelope."""
    env, exports = demo_server
    assert re.fullmatch(r"export API_KEY=sk_test_\w+ BASE_URL=http://127\.0\.0\.1:\d+ PLAN_ID=[\w-]{36} "
                        r"CUSTOMER_ID=[\w-]{36} PRODUCT_ID=[\w-]{36}", exports), exports
    script = "set -euo pipefail\n" + exports + "\n" + "\n".join(readme_runnable_blocks())

    result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)

    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    assert '"error"' not in result.stdout, result.stdout[-3000:]
    seeded = json.loads(re.search(r'\{\n  "organization_id".*?\n\}', result.stdout, re.S).group(0))
    assert seeded["api_key"] == exports.split("API_KEY=")[1].split()[0]
    assert re.search(r"^sk_test_\w+$", result.stdout, re.M)  # create_api_key printed a key
    with sqlite3.connect(tmp_path / "demo.sqlite3") as db:
        statuses = dict(db.execute("SELECT status, count(*) FROM checkout_checkoutsession GROUP BY status"))
        [(overrides, metadata)] = db.execute("SELECT product_overrides, metadata FROM checkout_checkoutsession "
                                             "WHERE status = 'completed'")
    # The create (replayed once by its idempotency key) was patched and confirmed; two more were
    # opened to expire and to cancel.
    assert statuses == {"completed": 1, "expired": 1, "cancelled": 1}, statuses
    assert json.loads(metadata) == {"order": "1042"}
    assert json.loads(overrides)[0]["quantity"] == 8
