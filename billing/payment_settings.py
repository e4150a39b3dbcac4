"""Writing an organization's payment settings (admin): validated against the mode, secrets
encrypted before they touch the database and never returned."""

from django.db import transaction

from billing.enums import PaymentProviderName
from billing.errors import PaymentSettingsInvalid
from billing.gateway import TEST_PROVIDER, KeyCheck, PaymentProvider, StripePaymentProvider, provider_for
from billing.models import PaymentSettings
from core.secrets import secret_encrypt


def _check_key(value: str, prefixes: tuple[str, ...], field: str, what: str) -> None:
    if not value.startswith(prefixes):
        raise PaymentSettingsInvalid(f"{what} must start with {' or '.join(prefixes)}.", field=field)
    if any(ch.isspace() for ch in value):  # a copy-paste with a space or a line break in it
        raise PaymentSettingsInvalid(f"{what} must not contain spaces or line breaks.", field=field)
    if value in prefixes:
        raise PaymentSettingsInvalid(f"{what} is incomplete: paste the whole key, not only {value}.", field=field)


def payment_settings_check(*, livemode: bool, provider: str, publishable_key: str = "", secret_key: str | None = None,
                           webhook_secret: str | None = None, secret_key_stored: bool = False,
                           webhook_secret_stored: bool = False) -> None:
    """The rules, without writing: live mode takes Stripe only, and keys of their own mode; the
    webhook signing secret is required (without it no Stripe event can be trusted)."""
    if provider not in PaymentProviderName.values:
        raise PaymentSettingsInvalid("Unknown provider.", field="provider")
    if livemode and provider == PaymentProviderName.TEST:
        raise PaymentSettingsInvalid("Live mode needs a real payment provider (Stripe).", field="provider")
    if provider != PaymentProviderName.STRIPE:
        return
    mode = "live" if livemode else "test"
    _check_key(publishable_key or "", (f"pk_{mode}_",), "stripe_publishable_key", "The publishable key")
    if secret_key:
        _check_key(secret_key, (f"sk_{mode}_", f"rk_{mode}_"), "stripe_secret_key", "The secret key")
    elif not secret_key_stored:
        raise PaymentSettingsInvalid("Enter the Stripe secret key.", field="stripe_secret_key")
    if webhook_secret:
        _check_key(webhook_secret, ("whsec_",), "stripe_webhook_secret", "The webhook signing secret")
    elif not webhook_secret_stored:
        raise PaymentSettingsInvalid("Enter the webhook signing secret (whsec_…) of the endpoint registered in "
                                     "Stripe.", field="stripe_webhook_secret")


KEY_CHECK_REFUSALS = {
    KeyCheck.REJECTED: ("stripe_secret_key", "Stripe rejected this secret key (401: unknown, revoked or "
                                             "mistyped). Copy it again from the Stripe dashboard."),
    KeyCheck.FORBIDDEN: ("stripe_secret_key", "Stripe refused this restricted key access to customers (403). "
                                              "It needs write access to customers, payment intents, setup "
                                              "intents, payment methods and refunds."),
    KeyCheck.UNREACHABLE: (None, "Stripe could not be reached to check the secret key (no answer, or an "
                                 "error on Stripe's side). Nothing was saved; try again in a moment."),
}


def payment_settings_verify(*, secret_key: str) -> None:
    """Ask Stripe once whether it takes ``secret_key`` (``StripePaymentProvider.key_check``);
    raises ``PaymentSettingsInvalid`` naming the field when it does not, or with no field when
    Stripe did not answer. Called by the admin before saving, outside any transaction."""
    if not secret_key:  # stored, but unreadable since the encryption key was rotated
        raise PaymentSettingsInvalid("The stored secret key cannot be read any more; enter it again.",
                                     field="stripe_secret_key")
    verdict = StripePaymentProvider(secret_key=secret_key).key_check()
    if verdict == KeyCheck.ACCEPTED:
        return
    field, message = KEY_CHECK_REFUSALS[verdict]
    raise PaymentSettingsInvalid(message, field=field)


@transaction.atomic
def payment_settings_save(*, organization_id, livemode: bool, provider: str, publishable_key: str = "",
                          secret_key: str | None = None, webhook_secret: str | None = None,
                          settings_id=None) -> PaymentSettings:
    """Create or update the settings of one mode. ``secret_key`` / ``webhook_secret``: None
    (or empty) keeps what is stored."""
    row = (PaymentSettings.objects.select_for_update().filter(pk=settings_id).first() if settings_id else None) \
        or PaymentSettings(organization_id=organization_id, livemode=livemode)
    payment_settings_check(livemode=row.livemode, provider=provider, publishable_key=publishable_key,
                           secret_key=secret_key, webhook_secret=webhook_secret,
                           secret_key_stored=bool(row.stripe_secret_key_encrypted),
                           webhook_secret_stored=bool(row.stripe_webhook_secret_encrypted))
    row.provider = provider
    if provider == PaymentProviderName.STRIPE:
        row.stripe_publishable_key = publishable_key
        if secret_key:
            row.stripe_secret_key_encrypted = secret_encrypt(secret_key)
        if webhook_secret:
            row.stripe_webhook_secret_encrypted = secret_encrypt(webhook_secret)
    row.save()
    return row


def provider_named(*, organization_id, livemode: bool, name: str) -> PaymentProvider | None:
    """The provider that made a payment or saved a method (``name``), with the organization's
    settings of that mode; None when it is no longer configured (a live test-provider record,
    Stripe's settings deleted or replaced by another provider)."""
    if name == PaymentProviderName.TEST:
        return None if livemode else TEST_PROVIDER
    row = PaymentSettings.objects.filter(organization_id=organization_id, livemode=livemode).first()
    provider = provider_for(row, livemode=livemode)
    return provider if provider is not None and provider.name == name else None
