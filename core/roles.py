"""The ops roles: Django groups made by migration core/0004 (and kept in step by running it
again: ``ops_groups_sync`` only adds). Each admin screen checks these permissions; the README's
"Ops staff" section says what each role can do.

The custom permissions (actions rather than models) live on the models they act on.
"""

# (app_label, model, codename, name): permissions no model's Meta declares.
CUSTOM_PERMISSIONS = [
    ("checkout", "checkoutsession", "cancel_checkoutsession", "Can cancel or expire open checkout sessions"),
    ("checkout", "checkoutsession", "resolve_checkoutsession",
     "Can mark a processing payment received or failed"),
    ("checkout", "checkoutsession", "resend_receipt_checkoutsession", "Can resend a checkout session's receipt"),
    ("checkout", "checkoutsession", "export_checkoutsession", "Can export checkout sessions (CSV)"),
    ("billing", "invoice", "refund_invoice", "Can refund invoices"),
    ("billing", "contract", "cancel_contract", "Can cancel contracts at period end"),
    ("customers", "customer", "anonymise_customer", "Can anonymise customers (erasure)"),
]

SUPPORT, FINANCE, ADMIN = "Support", "Finance", "Admin"

# Every view_* permission of these apps (Support and Finance read everything ops screens show).
READ_APPS = ("core", "customers", "billing", "checkout")

ROLES = {
    # Answer customers: find and read sessions, cancel an open one, resend a receipt.
    SUPPORT: {
        "view": READ_APPS,
        "exclude_view": {"core.view_auditentry", "core.view_apikey", "checkout.view_paymentsettings",
                         "billing.view_paymentsettings"},
        "extra": ["checkout.cancel_checkoutsession", "checkout.resend_receipt_checkoutsession"],
    },
    # Money: read everything, export, refund.
    FINANCE: {
        "view": READ_APPS,
        "exclude_view": set(),
        "extra": ["checkout.export_checkoutsession", "billing.refund_invoice"],
    },
    # Everything an ops screen allows (users, groups, authenticators and lockouts included);
    # admin screens still refuse deleting or hand-editing history, whoever asks.
    ADMIN: {"all": True},
}


def ops_groups_sync(apps) -> None:
    """Create the custom permissions and the three groups with their permissions. ``apps``: a
    migration's historical registry, or ``django.apps.apps``."""
    from django.contrib.auth.management import create_permissions

    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_config in apps.get_app_configs():
        # Model permissions and content types normally come after migrating (post_migrate).
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = had_models or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = had_models
    for app_label, model, codename, name in CUSTOM_PERMISSIONS:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        Permission.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": name})

    def named(full: str):
        app_label, codename = full.split(".", 1)
        return Permission.objects.filter(content_type__app_label=app_label, codename=codename)

    for role, spec in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        if spec.get("all"):
            group.permissions.add(*Permission.objects.all())
            continue
        views = Permission.objects.filter(content_type__app_label__in=spec["view"], codename__startswith="view_")
        chosen = [p for p in views.select_related("content_type")
                  if f"{p.content_type.app_label}.{p.codename}" not in spec["exclude_view"]]
        for full in spec["extra"]:
            chosen.extend(named(full))
        group.permissions.add(*chosen)
