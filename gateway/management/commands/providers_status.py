"""What `make run` says about upstreams: which providers have keys, or that the
built-in demo model answers and which variables reach a real provider."""

from django.conf import settings
from django.core.management.base import BaseCommand

from gateway.demo import DEMO_MODEL


class Command(BaseCommand):
    help = "Say which upstream providers are configured (or that the demo model answers)."

    def handle(self, *args, **options):
        configured = [
            slug
            for slug in settings.PROVIDER_SLUGS
            if settings.PROVIDER_CREDENTIALS.get(slug, {}).get("api_key")
        ]
        if configured:
            self.stdout.write(f"Upstream providers configured: {', '.join(configured)}.")
            return
        variables = ", ".join(f"{slug.upper()}_API_KEY" for slug in settings.PROVIDER_SLUGS)
        if settings.DEMO_PROVIDER:
            self.stdout.write(
                f"No provider key is set: the built-in demo model '{DEMO_MODEL}' answers (an echo, free).\n"
                f"To reach a real model, set one of {variables} (and optionally <NAME>_BASE_URL) and restart."
            )
        else:
            self.stdout.write(f"No provider key is set and the demo model is off: set one of {variables}.")
