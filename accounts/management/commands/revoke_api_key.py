from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import api_key_by_prefix
from accounts.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its visible prefix (jk_…). Every process stops accepting it within seconds."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix: str, **options):
        key = api_key_by_prefix(prefix=prefix)
        if key is None:
            raise CommandError(f"No API key with prefix '{prefix}'.")
        api_key_revoke(key=key)
        self.stdout.write(f"Revoked {key.prefix} of '{key.workspace.slug}'.")
