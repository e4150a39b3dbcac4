"""The index retention walks events by (dispatched ones, oldest first: checkout.services.retention).

On PostgreSQL it is built ``CONCURRENTLY`` (the events table is large and written all the time:
a plain CREATE INDEX would block every event insert while it builds), so this migration is not
atomic; elsewhere (the SQLite demo) it is Django's usual CREATE INDEX. Reversible.
"""

from django.db import migrations, models
from django.db.models import Q

INDEX = models.Index(fields=["created_at"], condition=Q(dispatched_at__isnull=False), name="event_dispatched_created")


def _index_add(apps, schema_editor):
    model = apps.get_model("checkout", "Event")
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(model._meta.db_table)
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX.name} ON {table} (created_at) "
                              "WHERE dispatched_at IS NOT NULL")
    else:
        schema_editor.add_index(model, INDEX)


def _index_remove(apps, schema_editor):
    model = apps.get_model("checkout", "Event")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX.name}")
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("checkout", "0024_saved_method_provider_detach"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="event", index=INDEX)],
            database_operations=[migrations.RunPython(_index_add, _index_remove)],
        ),
    ]
