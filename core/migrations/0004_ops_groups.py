"""The ops roles (Support, Finance, Admin) and the action permissions they are made of:
core/roles.py says what each holds."""

from django.db import migrations


def forwards(apps, schema_editor):
    from core.roles import ops_groups_sync

    ops_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_audit_log"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0001_initial"),
        ("billing", "0010_refunds_disputes"),
        ("checkout", "0019_page_views"),
        ("otp_totp", "0003_add_timestamps"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
