from django.contrib.admin.apps import AdminConfig


class OpsAdminConfig(AdminConfig):
    """Django's admin app on the ops site (core.admin_site: TOTP at login, the audit log).
    Its own module: INSTALLED_APPS imports it before any model may be loaded."""

    default_site = "core.admin_site.OpsAdminSite"

    def ready(self):
        super().ready()
        import core.audit  # noqa: F401  (connects the audit log's receivers)
