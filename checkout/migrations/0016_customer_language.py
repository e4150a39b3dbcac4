"""The language a customer confirmed in, for their receipt email. A constant default: on
PostgreSQL 11+ adding the column (and Django dropping the default after) changes only the
catalogue, never rewriting the sessions table."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('checkout', '0015_idempotency_livemode'),
    ]

    operations = [
        migrations.AddField(
            model_name='checkoutsession',
            name='customer_language',
            field=models.CharField(blank=True, default='', max_length=8),
        ),
    ]
