"""Issue #29, admin logins: a TOTP code (django-otp) when ADMIN_2FA_REQUIRED is on, optional in
the demo; wrong passwords throttled (django-axes) per username and address."""

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.models import AuditEntry

pytestmark = pytest.mark.django_db
LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", "admin")


def code(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():0{device.digits}d}"


def log_in(client, username="admin", password="admin", otp_token=""):
    return client.post(LOGIN, {"username": username, "password": password, "otp_token": otp_token,
                               "next": INDEX})


def test_demo_password_login_works_without_an_authenticator(client, staff):
    """ADMIN_2FA_REQUIRED off (the demo, DEBUG): admin/admin logs in as before."""
    response = log_in(client)
    assert response.status_code == 302 and response["Location"] == INDEX
    assert client.get(INDEX).status_code == 200
    assert AuditEntry.objects.filter(action="logged_in", username="admin", message="with a password only").exists()


def test_a_user_with_an_authenticator_needs_the_code_even_in_the_demo(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    response = log_in(client)
    assert response.status_code == 200 and "Enter the 6-digit code" in response.content.decode()
    assert client.get(INDEX).status_code == 302  # not logged in
    assert log_in(client, otp_token=code(device)).status_code == 302
    assert client.get(INDEX).status_code == 200


@override_settings(ADMIN_2FA_REQUIRED=True)
def test_required_2fa_refuses_staff_without_an_authenticator(client, staff):
    response = log_in(client)
    assert response.status_code == 200 and "Two-factor authentication is required" in response.content.decode()
    assert "totp_setup" in response.content.decode()
    assert client.get(INDEX).status_code == 302


@override_settings(ADMIN_2FA_REQUIRED=True)
def test_required_2fa_wrong_code_refused_right_code_verified(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    response = log_in(client, otp_token=code(device, offset=10))  # five minutes off
    assert response.status_code == 200 and "wrong or has expired" in response.content.decode()
    assert client.get(INDEX).status_code == 302
    device.refresh_from_db()
    device.throttling_failure_count = 0  # django-otp's own throttle after a wrong code
    device.throttling_failure_timestamp = None
    device.save()
    assert log_in(client, otp_token=code(device)).status_code == 302
    assert client.get(INDEX).status_code == 200
    assert AuditEntry.objects.filter(action="logged_in", message="with an authenticator code").exists()


@override_settings(ADMIN_2FA_REQUIRED=True)
def test_required_2fa_a_password_only_session_is_sent_back_to_login(client, staff):
    client.force_login(staff)  # a session from before 2FA was switched on: not verified
    response = client.get(INDEX)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert client.get(reverse("admin:checkout_checkoutsession_changelist")).status_code == 302


def test_totp_setup_prints_a_link_once_and_refuses_to_overwrite(staff, capsys):
    call_command("totp_setup", "admin")
    out = capsys.readouterr().out
    assert "otpauth://totp/" in out and "secret:" in out
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already has an authenticator"):
        call_command("totp_setup", "admin")
    call_command("totp_setup", "admin", "--replace")
    assert TOTPDevice.objects.filter(user=staff).count() == 1 and TOTPDevice.objects.get(user=staff).pk != device.pk
    assert AuditEntry.objects.filter(username="manage.py", message__contains="TOTP authenticator for admin").count() == 2


def test_wrong_passwords_lock_the_user_out_from_that_address_even_with_the_right_one(client, staff,
                                                                                       django_user_model):
    django_user_model.objects.create_superuser("other", "o@example.com", "other")
    for _ in range(4):
        response = log_in(client, password="wrong")
        assert response.status_code == 200 and "Please enter the correct username and password" in \
            response.content.decode()
    assert log_in(client, password="wrong").status_code == 429  # the 5th (ADMIN_LOGIN_FAILURE_LIMIT) locks
    response = log_in(client)  # the right password, too late
    assert response.status_code == 429 and "Too many failed logins" in response.content.decode()
    assert client.get(INDEX).status_code == 302
    assert AuditEntry.objects.filter(action="login_failed", username="admin").count() >= 5
    # Another user from the same address is not locked out (no accidental lockout of a team).
    assert log_in(client, "other", "other").status_code == 302


def test_lockout_is_per_address(client, staff):
    for _ in range(5):
        client.post(LOGIN, {"username": "admin", "password": "wrong"}, REMOTE_ADDR="203.0.113.7")
    assert client.post(LOGIN, {"username": "admin", "password": "admin"}, REMOTE_ADDR="203.0.113.7").status_code == 429
    assert client.post(LOGIN, {"username": "admin", "password": "admin", "next": INDEX},
                       REMOTE_ADDR="198.51.100.2").status_code == 302
