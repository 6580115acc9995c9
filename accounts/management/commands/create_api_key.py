from django.core.management.base import BaseCommand, CommandError

from accounts.models import KeyScope
from accounts.selectors import workspace_by_slug
from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a workspace. The secret is printed once, as the last line."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--scope", default=KeyScope.INFERENCE, choices=KeyScope.values)

    def handle(self, *args, slug: str, name: str, scope: str, **options):
        workspace = workspace_by_slug(slug=slug)
        if workspace is None:
            raise CommandError(f"No workspace '{slug}'.")
        key, secret = api_key_create(workspace=workspace, name=name, scope=scope)
        self.stdout.write(
            f"Created {scope} key {key.prefix} for '{workspace.slug}'. Store the secret now; it is not shown again:"
        )
        self.stdout.write(secret)
