"""The README's code is what merchants copy: run it."""

import re
import time
from pathlib import Path

from checkout.services.webhooks import webhook_signature

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _readme_verify():
    block = next(b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "def verify" in b)
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102 - our own README
    return namespace["verify"]


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


def test_readme_opens_with_the_two_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [["make", "run"], ["make", "test"]]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci
