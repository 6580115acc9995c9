"""The first workspace of a fresh deployment (docker compose's one-shot
``migrate`` service runs it): created once from the environment, with its
owner, credits and one inference key printed once; a no-op when unset or done."""

import os

from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import workspace_by_slug
from accounts.services import AccountsError, workspace_provision


class Command(BaseCommand):
    help = (
        "Create the first workspace from JUNCTION_BOOTSTRAP_WORKSPACE (slug), JUNCTION_BOOTSTRAP_OWNER "
        "(email) and JUNCTION_BOOTSTRAP_CREDITS, with one inference key; nothing when they are unset "
        "or the workspace exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--slug", default=os.environ.get("JUNCTION_BOOTSTRAP_WORKSPACE", ""))
        parser.add_argument("--owner", default=os.environ.get("JUNCTION_BOOTSTRAP_OWNER", ""))
        parser.add_argument(
            "--credits", type=int, default=int(os.environ.get("JUNCTION_BOOTSTRAP_CREDITS") or 0)
        )

    def handle(self, *args, slug: str, owner: str, credits: int, **options):
        if not slug:
            self.stdout.write("No first workspace asked for (JUNCTION_BOOTSTRAP_WORKSPACE is unset).")
            return
        if workspace_by_slug(slug=slug) is not None:
            self.stdout.write(
                f"Workspace '{slug}' exists. Another key: python manage.py create_api_key {slug}"
            )
            return
        if not owner:
            raise CommandError("JUNCTION_BOOTSTRAP_OWNER (the owner's email) is required with a workspace.")
        if credits < 0:
            raise CommandError("JUNCTION_BOOTSTRAP_CREDITS must not be negative.")
        try:
            made = workspace_provision(
                slug=slug,
                owner_email=owner,
                name=slug,
                credits=credits,
                credits_reason="Initial credits (bootstrap_workspace)",
                key_name="bootstrap",
            )
        except AccountsError as exc:
            raise CommandError(str(exc)) from exc
        assert made.key is not None
        self.stdout.write(
            f"Created workspace '{made.workspace.slug}' owned by {owner} with {credits} credits and the "
            f"inference key {made.key.prefix}. Store the secret now; it is not shown again:"
        )
        self.stdout.write(made.secret)
