"""The README's code, as code: tests run exactly what merchants and newcomers copy."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
# A shell block the README test runs verbatim: the fence right after this (invisible) comment.
RUNNABLE = "<!-- runnable -->"


def readme_verify():
    block = next(b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "def verify" in b)
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102 - our own README
    return namespace["verify"]


def readme_runnable_blocks(text: str = README) -> list[str]:
    """The ```bash blocks marked runnable, in the order a reader meets them."""
    return re.findall(rf"^{re.escape(RUNNABLE)}\n```bash\n(.*?)^```", text, re.S | re.M)
