from django.core.management.base import BaseCommand

from routing_rules.services import provider_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored provider key under the first key of PROVIDER_KEY_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old ones."
    )

    def handle(self, *args, **options):
        count = provider_keys_rotate()
        self.stdout.write(f"Re-encrypted {count} provider key(s).")
