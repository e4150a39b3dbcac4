"""The README's webhook verification snippet, as code: tests run exactly what merchants copy."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def readme_verify():
    block = next(b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "def verify" in b)
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102 - our own README
    return namespace["verify"]
