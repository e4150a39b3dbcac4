# Payment and PaymentSettings move to the billing app (billing owns invoices and their
# payments; renewals charge invoices). Only Django's state changes: the tables keep their names
# (billing's models set db_table) and not a row moves.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('checkout', '0016_customer_language'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name='paymentsettings', name='organization'),
                migrations.DeleteModel(name='Payment'),
                migrations.DeleteModel(name='PaymentSettings'),
            ],
            database_operations=[],
        ),
    ]
