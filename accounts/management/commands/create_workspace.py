from django.core.management.base import BaseCommand, CommandError

from accounts.services import AccountsError, workspace_provision


class Command(BaseCommand):
    help = "Create a workspace (tenant) with its owner user and membership."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--owner", required=True, help="Owner's email; the user is created if missing.")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--credits",
            type=int,
            default=0,
            help="Grant this many credits (1 credit = $0.01) to the new workspace.",
        )

    def handle(self, *args, slug: str, owner: str, name: str, credits: int, **options):
        if credits < 0:
            raise CommandError("--credits must not be negative.")
        try:
            workspace = workspace_provision(
                slug=slug,
                owner_email=owner,
                name=name,
                credits=credits,
                credits_reason="Initial credits (create_workspace --credits)",
            ).workspace
        except AccountsError as exc:
            raise CommandError(str(exc)) from exc
        extra = f" with {credits} credits (${credits / 100:.2f})" if credits else ""
        self.stdout.write(f"Created workspace '{workspace.slug}' owned by {owner}{extra}.")
