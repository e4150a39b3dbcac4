"""Idempotency keys get a namespace per mode: a test key's record no longer answers (422) or
blocks (409) a live request with the same key string.

Completed records take the mode of the session they created. A claim in flight while this runs
(the seconds a create takes) has no session yet and counts as test; the records only live
``IDEMPOTENCY_KEY_TTL_HOURS`` (purged daily), so the table is small and the new unique index
is built quickly. The new constraint is added before the old one goes, so no moment is without
one."""

from django.db import migrations, models


def modes_from_sessions(apps, schema_editor):
    IdempotencyRecord = apps.get_model("checkout", "IdempotencyRecord")
    IdempotencyRecord.objects.filter(checkout_session__livemode=True).update(livemode=True)


class Migration(migrations.Migration):

    dependencies = [
        ("checkout", "0014_session_locale"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="livemode",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(modes_from_sessions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="idempotencyrecord",
            constraint=models.UniqueConstraint(
                fields=("organization", "livemode", "key"), name="idempotency_key_unique_per_mode"
            ),
        ),
        migrations.RemoveConstraint(
            model_name="idempotencyrecord",
            name="idempotency_key_unique_per_org",
        ),
    ]
