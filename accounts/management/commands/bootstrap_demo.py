from django.core.management.base import BaseCommand

from accounts.selectors import workspace_by_slug
from accounts.services import api_key_create, workspace_create

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Create the demo workspace and an inference key on first run (make run)."

    def handle(self, *args, **options):
        if workspace_by_slug(slug=DEMO_SLUG) is not None:
            self.stdout.write(
                f"Demo workspace '{DEMO_SLUG}' exists. A new key: python manage.py create_api_key {DEMO_SLUG}"
            )
            return
        workspace = workspace_create(slug=DEMO_SLUG, owner_email="demo@example.com", name="Demo")
        _, secret = api_key_create(workspace=workspace, name="demo")
        bar = "=" * 72
        self.stdout.write(
            f"{bar}\nDemo workspace '{DEMO_SLUG}' created. Its API key (shown only now):\n\n    {secret}\n\n"
            f"export JUNCTION_API_KEY={secret}\n{bar}"
        )
