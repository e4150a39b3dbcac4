import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    # A production-like environment: none of the test-only switches from tests/testenv.py.
    test_only = {"DEBUG", "SECURE_SSL_REDIRECT", "STATIC_MANIFEST", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    full_env = {k: v for k, v in os.environ.items() if k not in test_only}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_debug_off():
    result = _manage("check", "--deploy", "--fail-level", "WARNING",
                     DEBUG="false", SECRET_KEY="x" * 64 + "-production-secret-for-the-deploy-check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_flags_the_default_secret_key():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="false")
    assert result.returncode != 0 and "SECRET_KEY" in result.stdout + result.stderr


@pytest.mark.parametrize("flag", ["SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"])
def test_production_hardening_switches_on_without_debug(flag):
    result = _manage("shell", "-c", f"from django.conf import settings; print(bool(settings.{flag}))",
                     DEBUG="false")
    assert result.stdout.strip().splitlines()[-1] == "True", result.stderr
