"""Give a staff user an authenticator (TOTP), printed once: the otpauth:// link (paste it in,
or turn it into a QR code) and the secret to type by hand. The way in for the first admin when
ADMIN_2FA_REQUIRED is on; afterwards admins can also add devices under "TOTP devices"."""

import base64

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit import audit_record
from core.models import AuditEntry


class Command(BaseCommand):
    help = "Create (or with --replace, replace) a user's TOTP authenticator and print its link once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--replace", action="store_true", help="delete the user's existing authenticators first")

    def handle(self, username, replace=False, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        existing = TOTPDevice.objects.filter(user=user)
        if existing.exists() and not replace:
            raise CommandError(f"{username} already has an authenticator; pass --replace to issue a new one.")
        existing.delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        secret = base64.b32encode(device.bin_key).decode()
        audit_record(action=AuditEntry.Action.CHANGED, user=None, username="manage.py", obj=device,
                     message=f"Issued a TOTP authenticator for {username} (totp_setup)")
        self.stdout.write(f"Authenticator for {username} (shown once):\n"
                          f"  link:   {device.config_url}\n  secret: {secret}\n"
                          "Add it to an authenticator app, then log in with the 6-digit code it shows.")
