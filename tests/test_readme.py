"""The README's code is what merchants copy: run it."""

import re
import time
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from checkout.models import WebhookEndpoint
from checkout.webhooks.delivery import webhook_signature, webhook_signature_header
from tests.readme import README
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
