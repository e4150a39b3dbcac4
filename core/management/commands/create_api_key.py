from django.core.management.base import BaseCommand, CommandError

from core.models import Organization
from core.services import api_key_create


class Command(BaseCommand):
    help = "Create a secret API key for an organization and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="Organization id (UUID) or exact name.")
        parser.add_argument("--live", action="store_true", help="Create a live key (sk_live_…).")
        parser.add_argument("--name", default="", help="A label for the key.")

    def handle(self, *args, organization, live, name, **options):
        org = _organization_lookup(organization)
        _, raw = api_key_create(organization=org, livemode=live, name=name)
        self.stdout.write(raw)
        self.stderr.write(f"Key created for {org.name}. Store it now: it cannot be shown again.")


def _organization_lookup(value: str) -> Organization:
    import uuid

    try:
        query = {"pk": uuid.UUID(value)}
    except ValueError:
        query = {"name": value}
    org = Organization.objects.filter(**query).first()
    if org is None:
        raise CommandError(f"No organization {value!r}.")
    return org
