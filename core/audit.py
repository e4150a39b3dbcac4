"""The audit log: every admin action (who, when, which object, what changed) as an
``AuditEntry``, searchable in admin under Merchants → Audit log.

Every ModelAdmin registered on the ops site (``core.admin_site.OpsAdminSite.register``) gets
``AuditedAdminMixin``, so nothing has to remember to log: Django's admin already writes a
``LogEntry`` for each add, change (form or action calling ``log_change``) and delete; a
receiver copies each one into the audit log, with the before/after values the mixin took from
the form. Logins, logouts and failed logins are recorded too.
"""

import contextvars

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from core.models import AuditEntry

# Field values never written to the log, whatever the model.
SECRET_WORDS = ("password", "secret", "token", "key_hash")
VALUE_LIMIT = 200

_pending_changes: contextvars.ContextVar[dict | None] = contextvars.ContextVar("audit_changes", default=None)

ACTIONS = {ADDITION: AuditEntry.Action.ADDED, CHANGE: AuditEntry.Action.CHANGED, DELETION: AuditEntry.Action.DELETED}


def audit_value(name: str, value) -> str:
    if any(word in name.lower() for word in SECRET_WORDS):
        return "(hidden)"
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple | set) or hasattr(value, "__iter__") and hasattr(value, "model"):
        value = ", ".join(str(item) for item in value)
    text = str(value)
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"


def form_changes(form, formsets=()) -> dict:
    """{"field": [before, after]} for a submitted admin form and its inlines."""
    changes = {}
    if form is not None and not getattr(form, "empty_permitted", False):
        for name in form.changed_data:
            before = form.initial.get(name)
            field = form.fields.get(name)
            if field is not None and before is not None and hasattr(field, "queryset"):
                # Initial values of choice fields are primary keys: show the objects.
                ids = before if isinstance(before, list | tuple) else [before]
                before = [str(obj) for obj in field.queryset.filter(pk__in=[getattr(i, "pk", i) for i in ids])]
            changes[name] = [audit_value(name, before), audit_value(name, form.cleaned_data.get(name))]
    for formset in formsets or ():
        prefix = formset.prefix
        for index, inline in enumerate(formset.forms):
            if inline in getattr(formset, "deleted_forms", ()):
                changes[f"{prefix}.{index}"] = [str(inline.instance), "(deleted)"]
                continue
            for name, values in form_changes(inline).items():
                changes[f"{prefix}.{index}.{name}"] = values
    return changes


class AuditedAdminMixin:
    """Takes the form's before/after values when Django builds its change message; the
    ``LogEntry`` written right after carries them into the audit log."""

    def construct_change_message(self, request, form, formsets, add=False):
        _pending_changes.set(form_changes(form, formsets))
        return super().construct_change_message(request, form, formsets, add)


def audit_record(*, action: str, user=None, username: str = "", obj=None, content_type=None, object_id="", object_repr="",
                 message: str = "", changes: dict | None = None, address: str = "") -> AuditEntry:
    if obj is not None:
        from django.contrib.contenttypes.models import ContentType

        content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        object_id, object_repr = str(obj.pk), str(obj)
    return AuditEntry.objects.create(
        action=action, user=user if getattr(user, "pk", None) else None,
        username=user.get_username() if user is not None else username[:150],
        content_type=content_type, object_id=str(object_id or "")[:64], object_repr=str(object_repr)[:200],
        message=message, changes=changes or {}, address=address[:64])


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_from_log_entry")
def _log_entry_saved(sender, instance: LogEntry, created: bool, **kwargs):
    if not created:
        return
    changes = _pending_changes.get() or {}
    _pending_changes.set(None)
    audit_record(action=ACTIONS.get(instance.action_flag, AuditEntry.Action.CHANGED), user=instance.user,
                 content_type=instance.content_type, object_id=instance.object_id or "",
                 object_repr=instance.object_repr, message=instance.get_change_message(),
                 changes=changes if instance.action_flag == CHANGE else {})


def _address(request) -> str:
    if request is None:
        return ""
    from core.authentication import client_address

    return client_address(request)


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    device = getattr(user, "otp_device", None)
    audit_record(action=AuditEntry.Action.LOGGED_IN, user=user, address=_address(request),
                 message="with an authenticator code" if device is not None else "with a password only")


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action=AuditEntry.Action.LOGGED_OUT, user=user, address=_address(request))


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username", ""))
    audit_record(action=AuditEntry.Action.LOGIN_FAILED, username=username, address=_address(request),
                 message="wrong password")
