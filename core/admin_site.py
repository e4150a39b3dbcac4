"""The admin site ops staff log into: Django's, plus a TOTP code at login (django-otp).

``ADMIN_2FA_REQUIRED`` (default: on unless DEBUG) makes the code mandatory for every staff user:
without a confirmed authenticator nobody gets in (``manage.py totp_setup USER`` prints the
``otpauth://`` link to scan). Off (the demo), a user who has set up an authenticator still needs
their code; the others log in with their password alone. Wrong passwords are throttled by
django-axes (settings ``AXES_*``), which sees every attempt through ``authenticate``.
"""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm


def totp_devices(user) -> list:
    # Imported here: this module is loaded with INSTALLED_APPS, before models may be.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return list(TOTPDevice.objects.devices_for_user(user, confirmed=True))


class OpsLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label="Authenticator code", required=False, max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="The 6-digit code from your authenticator app (if you have set one up).")

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_missing": "Enter the 6-digit code from your authenticator app.",
        "otp_invalid": "That authenticator code is wrong or has expired. Enter the current one.",
        "otp_required": "Two-factor authentication is required and this account has no authenticator yet: "
                        "ask an administrator to run `manage.py totp_setup <username>` for it.",
    }

    def clean(self):
        cleaned = super().clean()  # the password (axes counts failures here), is_staff
        user = self.get_user()
        devices = totp_devices(user)
        if not devices:
            if settings.ADMIN_2FA_REQUIRED:
                raise forms.ValidationError(self.error_messages["otp_required"], code="otp_required")
            return cleaned
        token = (cleaned.get("otp_token") or "").replace(" ", "")
        if not token:
            raise forms.ValidationError(self.error_messages["otp_missing"], code="otp_missing")
        for device in devices:
            allowed, _details = device.verify_is_allowed()  # the device's own throttle
            if allowed and device.verify_token(token):
                user.otp_device = device  # django-otp marks the session verified at login
                return cleaned
        raise forms.ValidationError(self.error_messages["otp_invalid"], code="otp_invalid")


class OpsAdminSite(admin.AdminSite):
    login_form = OpsLoginForm
    login_template = "admin/ops_login.html"

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every ModelAdmin, ours, Django's and the libraries', records its changes with their
        before/after values in the audit log (core.audit)."""
        from core.audit import AuditedAdminMixin

        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedAdminMixin):
            admin_class = type(admin_class.__name__, (AuditedAdminMixin, admin_class), {})
        return super().register(model_or_iterable, admin_class, **options)

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        # Required: a session logged in without a code (or before 2FA was switched on) is sent
        # back to the login page, which asks for one.
        return not settings.ADMIN_2FA_REQUIRED or request.user.is_verified()


def login_address(request) -> str | None:
    """The client address django-axes counts failures by (``AXES_CLIENT_IP_CALLABLE``): the
    API's rule (``TRUSTED_PROXY_COUNT``), None when the request has none (``force_login``)."""
    import ipaddress

    from core.authentication import client_address

    address = client_address(request) if request is not None else ""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
