from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import workspace_by_slug
from billing.errors import BillingError
from billing.services.plans import plan_assign


class Command(BaseCommand):
    help = "Put a workspace on a plan (its limits apply at once; its monthly grant from the next grant run)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("plan", help="Plan slug, e.g. free, starter, pro.")

    def handle(self, *args, slug: str, plan: str, **options):
        workspace = workspace_by_slug(slug=slug)
        if workspace is None:
            raise CommandError(f"No workspace '{slug}'.")
        try:
            plan_assign(workspace_id=workspace.pk, plan_slug=plan)
        except BillingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Workspace '{slug}' is now on plan '{plan}'.")
