"""Payment settings per organization and mode. Secrets are typed into password fields, stored
encrypted and never rendered back: leaving a field empty keeps the stored value."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from billing.enums import PaymentProviderName
from billing.models import PaymentSettings
from billing.payment_settings import payment_settings_check, payment_settings_save, payment_settings_verify
from core.errors import DomainError
from core.secrets import secret_decrypt


class PaymentSettingsForm(forms.ModelForm):
    stripe_secret_key = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="sk_test_… / sk_live_… (or a restricted rk_ key). Leave empty to keep the stored key.")
    stripe_webhook_secret = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="whsec_… from the endpoint you register in Stripe. Leave empty to keep the stored secret.")

    class Meta:
        model = PaymentSettings
        fields = ["organization", "livemode", "provider", "stripe_publishable_key"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        instance = self.instance
        try:
            payment_settings_check(
                livemode=cleaned.get("livemode", instance.livemode), provider=cleaned["provider"],
                publishable_key=cleaned.get("stripe_publishable_key", ""), secret_key=cleaned.get("stripe_secret_key"),
                webhook_secret=cleaned.get("stripe_webhook_secret"),
                secret_key_stored=bool(instance.stripe_secret_key_encrypted),
                webhook_secret_stored=bool(instance.stripe_webhook_secret_encrypted))
            if cleaned["provider"] == PaymentProviderName.STRIPE:
                # One call to Stripe with the key to be used (the typed one, else the stored one):
                # a key Stripe refuses, or no answer, saves nothing.
                payment_settings_verify(secret_key=cleaned.get("stripe_secret_key")
                                        or secret_decrypt(instance.stripe_secret_key_encrypted))
        except DomainError as error:
            field = next(iter(error.fields or {}), None)
            raise ValidationError({field: error.message} if field else error.message) from None
        return cleaned


@admin.register(PaymentSettings)
class PaymentSettingsAdmin(admin.ModelAdmin):
    form = PaymentSettingsForm
    list_display = ["organization", "livemode", "provider", "stripe_publishable_key", "secrets_stored"]
    list_filter = ["provider", "livemode"]
    search_fields = ["organization__name", "=id"]
    readonly_fields = ["stripe_webhook_url", "secrets_stored"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "organization", "livemode"] if obj else self.readonly_fields

    @admin.display(description="Secrets stored")
    def secrets_stored(self, obj):
        parts = [name for name, value in (("secret key", obj.stripe_secret_key_encrypted),
                                          ("webhook secret", obj.stripe_webhook_secret_encrypted)) if value]
        return ", ".join(parts) or "none"

    @admin.display(description="Webhook URL to register in Stripe")
    def stripe_webhook_url(self, obj):
        if obj is None or obj.pk is None or obj.provider != PaymentProviderName.STRIPE:
            return "Save with provider Stripe to get the URL."
        url = settings.PUBLIC_BASE_URL + reverse("checkout:stripe-webhook", args=[obj.pk])
        return format_html("<code>{}</code> (events: payment_intent.succeeded, payment_intent.payment_failed)", url)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = payment_settings_save(
            organization_id=obj.organization_id, livemode=obj.livemode, provider=data["provider"],
            publishable_key=data.get("stripe_publishable_key", ""), secret_key=data.get("stripe_secret_key"),
            webhook_secret=data.get("stripe_webhook_secret"), settings_id=obj.pk if change else None)
        obj.pk, obj._state.adding, obj._state.db = saved.pk, False, saved._state.db
