# Payment and PaymentSettings, moved from the checkout app: state only, the tables
# (checkout_payment, checkout_paymentsettings) stay as they are. Their content types move with
# them, so permissions and admin history keep pointing at the same rows.

import django.db.models.deletion
import uuid
from django.db import migrations, models


def content_types_move(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("payment", "paymentsettings"):
        if not ContentType.objects.filter(app_label="billing", model=model).exists():
            ContentType.objects.filter(app_label="checkout", model=model).update(app_label="billing")


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0007_consent'),
        ('checkout', '0017_move_payments_to_billing'),
        ('core', '0002_consent'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Payment',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('provider', models.CharField(default='test', max_length=32)),
                        ('method', models.CharField(choices=[('card', 'Card'), ('invoice', 'Pay by invoice'), ('none', 'Nothing to pay')], max_length=16)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], max_length=16)),
                        ('amount', models.DecimalField(decimal_places=4, max_digits=19)),
                        ('currency', models.CharField(max_length=3)),
                        ('card_last4', models.CharField(blank=True, max_length=4)),
                        ('provider_reference', models.CharField(blank=True, max_length=100)),
                        ('client_secret', models.CharField(blank=True, editable=False, max_length=255)),
                        ('failure_code', models.CharField(blank=True, max_length=64)),
                        ('failure_message', models.CharField(blank=True, max_length=300)),
                        ('checkout_session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='checkout.checkoutsession')),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.organization')),
                    ],
                    options={
                        'db_table': 'checkout_payment',
                        'ordering': ['-created_at'],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('status__in', ['pending', 'succeeded'])), fields=('checkout_session',), name='one_live_payment_per_session')],
                    },
                ),
                migrations.CreateModel(
                    name='PaymentSettings',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('livemode', models.BooleanField(default=False)),
                        ('provider', models.CharField(choices=[('test', 'Built-in test provider'), ('stripe', 'Stripe')], default='test', max_length=16)),
                        ('stripe_publishable_key', models.CharField(blank=True, max_length=255)),
                        ('stripe_secret_key_encrypted', models.TextField(blank=True, editable=False)),
                        ('stripe_webhook_secret_encrypted', models.TextField(blank=True, editable=False)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='payment_settings', to='core.organization')),
                    ],
                    options={
                        'verbose_name': 'payment settings',
                        'verbose_name_plural': 'payment settings',
                        'db_table': 'checkout_paymentsettings',
                        'constraints': [models.UniqueConstraint(fields=('organization', 'livemode'), name='payment_settings_one_per_mode'), models.CheckConstraint(condition=models.Q(('provider__in', ['test', 'stripe'])), name='payment_settings_provider_valid'), models.CheckConstraint(condition=models.Q(('livemode', False), models.Q(('provider', 'test'), _negated=True), _connector='OR'), name='payment_settings_no_test_provider_live')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_move, migrations.RunPython.noop),
    ]
