from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from .models import ApiKey, AuditEntry, BusinessEntity, Organization
from .money import currency_validator
from .services import api_key_create, api_key_revoke


class ReadOnlyAdminMixin:
    """Records ops read but never add, hand-edit or delete (their own actions change them)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class KeepsHistoryAdminMixin:
    """Records others point at (contracts, invoices, deliveries…): never deleted in admin, by
    anyone; each model's own actions end or anonymise them instead."""

    def has_delete_permission(self, request, obj=None):
        return False


class CurrencyValidatedAdminMixin:
    """Admin forms refuse non-money ISO-4217 codes (XAU, XTS, XXX…) in ``currency_fields``,
    as the API does; checked in the form, so the columns need no migration."""

    currency_fields = ("currency",)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and db_field.name in self.currency_fields:
            formfield.validators.append(currency_validator)
        return formfield


# A terms URL typed without a scheme is taken as https (Django 6's default, chosen now).
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class BusinessEntityInline(CurrencyValidatedAdminMixin, admin.TabularInline):
    currency_fields = ("default_currency",)
    formfield_overrides = HTTPS_URLS
    model = BusinessEntity
    extra = 0
    fields = ["name", "email", "default_currency", "tax_rate", "allow_invoice_payment", "terms_url", "is_default"]


@admin.register(Organization)
class OrganizationAdmin(KeepsHistoryAdminMixin, admin.ModelAdmin):
    # Deleting a merchant would cascade through its sessions, events and deliveries.
    list_display = ["name", "id", "created_at"]
    search_fields = ["name", "id"]
    inlines = [BusinessEntityInline]
    readonly_fields = ["api_keys"]

    @admin.display(description="API keys")
    def api_keys(self, obj):
        """How many keys are active, and the way to a new one: "Add API key" with this
        organization chosen (the only place a secret is shown: the page answering that form)."""
        if obj.pk is None:
            return "Save the organization first."
        active = ApiKey.objects.filter(organization=obj, revoked_at__isnull=True).count()
        keys = reverse("admin:core_apikey_changelist") + "?" + urlencode({"organization": obj.pk})
        add = reverse("admin:core_apikey_add") + "?" + urlencode({"organization": obj.pk})
        return format_html('<a href="{}">{} active</a> · <a href="{}">Add an API key</a>', keys, active, add)


class ApiKeyCreateForm(forms.ModelForm):
    mode = forms.ChoiceField(
        label="Mode", choices=[("test", "Test (sk_test_…): test sessions only"),
                               ("live", "Live (sk_live_…): live sessions, real money")],
        initial="test", widget=forms.RadioSelect)

    class Meta:
        model = ApiKey
        fields = ["organization", "name"]
        help_texts = {"name": "What the key is for (e.g. \"billing backend\"); shown in lists, never secret."}


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Keys are minted on "Add API key" (reached from here or from an organization's page, or
    by `manage.py create_api_key`) through ``api_key_create``: the secret is on the page that answers the form
    and nowhere else (not in a message, the log or the session; only its hash is stored).
    Revoked by the action below; never hand-edited or deleted."""

    list_display = ["prefix", "organization", "name", "livemode", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["livemode", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "organization__name"]
    list_select_related = ["organization"]
    fields = ["organization", "name", "prefix", "livemode", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "livemode", "created_at", "last_used_at", "revoked_at"]
    add_form = ApiKeyCreateForm
    actions = ["revoke"]

    def has_add_permission(self, request):
        return admin.ModelAdmin.has_add_permission(self, request)  # adding is allowed; editing is not

    def get_fields(self, request, obj=None):
        return ["organization", "name", "mode"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save_and_add_another": False,
                         "show_save_and_continue": False}
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        data = form.cleaned_data
        key, secret = api_key_create(organization=data["organization"], livemode=data["mode"] == "live",
                                     name=data["name"])
        # The admin logs and answers with ``obj``: make it the row the service created.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(key, field.attname))
        obj._state.adding, obj._state.db = False, key._state.db
        obj._secret = secret  # for response_add only; never stored

    def log_addition(self, request, obj, message):
        mode = "live" if obj.livemode else "test"
        return super().log_addition(request, obj, f"Created a {mode} key (via admin); its secret was shown once.")

    def response_add(self, request, obj, post_url_continue=None):
        """The secret, this once. Rendered in answer to the POST (no redirect, so it never sits in
        a message or the session) and not cached."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "title": "API key created", "key": obj, "secret": obj._secret,
        }
        response = TemplateResponse(request, "admin/core/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(api_key_id=key.pk)
            self.log_change(request, key, "Revoked (via admin)")
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


@admin.register(BusinessEntity)
class BusinessEntityAdmin(CurrencyValidatedAdminMixin, admin.ModelAdmin):
    currency_fields = ("default_currency",)
    formfield_overrides = HTTPS_URLS
    list_display = ["name", "organization", "default_currency", "tax_rate", "allow_invoice_payment", "is_default"]
    list_filter = ["default_currency", "is_default", "allow_invoice_payment"]
    search_fields = ["name", "email", "organization__name"]
    list_select_related = ["organization"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What people did in admin (core.audit): search by user, object, id or message."""

    list_display = ["at", "username", "action", "object_link", "summary", "address"]
    list_filter = ["action", ("content_type", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["username", "object_repr", "=object_id", "message"]
    date_hierarchy = "at"
    fields = ["at", "username", "action", "content_type", "object_id", "object_repr", "message", "changes_table",
              "address"]
    readonly_fields = fields
    list_select_related = ["content_type"]

    @admin.display(description="Object", ordering="object_repr")
    def object_link(self, obj):
        if not obj.content_type_id or not obj.object_id:
            return obj.object_repr or "—"
        try:
            url = reverse(f"admin:{obj.content_type.app_label}_{obj.content_type.model}_change", args=[obj.object_id])
        except Exception:  # noqa: BLE001 - no admin page for that model (or it is gone): just the name
            return obj.object_repr
        return format_html('<a href="{}">{}</a>', url, obj.object_repr)

    @admin.display(description="What changed")
    def summary(self, obj):
        if obj.changes:
            return "; ".join(f"{name}: {before} → {after}" for name, (before, after) in obj.changes.items())[:300]
        return obj.message[:300]

    @admin.display(description="Changes")
    def changes_table(self, obj):
        if not obj.changes:
            return "—"
        return format_html(
            "<table><tr><th>Field</th><th>Before</th><th>After</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                             ((name, before, after) for name, (before, after) in obj.changes.items())))
