from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from gateway.catalog.services import catalog_sync


class Command(BaseCommand):
    help = "Load the model catalog (providers, models, prices, deployments). Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(settings.CATALOG_FILE))

    def handle(self, *args, file: str, **options):
        counts = catalog_sync(path=Path(file))
        self.stdout.write(
            f"Catalog synced: {counts['providers']} providers, {counts['models']} models, "
            f"{counts['deployments']} deployments."
        )
