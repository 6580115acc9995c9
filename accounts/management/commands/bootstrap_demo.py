from django.core.management.base import BaseCommand

from accounts.selectors import workspace_by_slug
from accounts.services import workspace_provision

DEMO_SLUG = "demo"
DEMO_CREDITS = 1_000  # $10.00 (1 credit = $0.01)


class Command(BaseCommand):
    help = "Create the demo workspace and an inference key on first run (make run)."

    def handle(self, *args, **options):
        if workspace_by_slug(slug=DEMO_SLUG) is not None:
            self.stdout.write(
                f"Demo workspace '{DEMO_SLUG}' exists. A new key: python manage.py create_api_key {DEMO_SLUG}"
            )
            return
        secret = workspace_provision(
            slug=DEMO_SLUG,
            owner_email="demo@example.com",
            name="Demo",
            credits=DEMO_CREDITS,
            credits_reason="Demo credits (bootstrap_demo)",
            key_name="demo",
        ).secret
        bar = "=" * 72
        self.stdout.write(
            f"{bar}\nDemo workspace '{DEMO_SLUG}' created with {DEMO_CREDITS} credits. Its API key (shown only now):\n\n    {secret}\n\n"
            f"export JUNCTION_API_KEY={secret}\n{bar}"
        )
