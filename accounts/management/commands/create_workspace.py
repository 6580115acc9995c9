from django.core.management.base import BaseCommand, CommandError

from accounts.services import AccountsError, workspace_create


class Command(BaseCommand):
    help = "Create a workspace (tenant) with its owner user and membership."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--owner", required=True, help="Owner's email; the user is created if missing.")
        parser.add_argument("--name", default="")

    def handle(self, *args, slug: str, owner: str, name: str, **options):
        try:
            workspace = workspace_create(slug=slug, owner_email=owner, name=name)
        except AccountsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Created workspace '{workspace.slug}' owned by {owner}.")
