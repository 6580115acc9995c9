"""Settings, read from the environment.

Every default makes ``make run`` work on a laptop with nothing installed:
SQLite, in-process cache and channel layer, eager Celery, local file storage.
Set ``DATABASE_URL``, ``REDIS_URL``, ``CELERY_BROKER_URL`` and ``S3_BUCKET``
for the production shape.

A package by concern; ``DJANGO_SETTINGS_MODULE=config.settings`` reads this
module, which takes every section's settings. A section imports what it
reads of another explicitly (``files`` reads ``core``'s ``DATA_DIR``), so
the order below does not matter, and no setting is defined in two sections
(``tests/test_settings_package.py``). A new setting goes in the section of
its concern:
- ``environment``: Reading the environment, and where the project lives.
- ``core``: Django itself: apps, middleware, templates, the database, static files, the
  management API, logging.
- ``services``: The optional shared services: Redis (cache, channel layer), Celery and the
  embedded beat, email.
- ``gateway``: The /v1 surface: body limits, the upstream client and egress proxies, key and
  catalog caches, the firewall's budgets, the request-log writer, provider credentials and the
  demo upstream.
- ``billing``: Billing: reservations, the credit book's leases, idempotency, rate limits,
  Stripe, the BYOK fee.
- ``routing``: Routing: rule caches, fallbacks, breakers, live health.
- ``files``: Files: blob storage (local disk or S3), upload limits, signed links, files sent
  to upstreams, the images API's jobs.
- ``console``: The console and the chat app: accounts (django-allauth), 2FA, chat attachments.
- ``security``: Production: provider-key encryption, the refusal to start on laptop defaults,
  HTTPS-only cookies and redirects.
"""

from config.settings.billing import *  # noqa: F403
from config.settings.console import *  # noqa: F403
from config.settings.core import *  # noqa: F403
from config.settings.environment import *  # noqa: F403
from config.settings.files import *  # noqa: F403
from config.settings.gateway import *  # noqa: F403
from config.settings.routing import *  # noqa: F403
from config.settings.security import *  # noqa: F403
from config.settings.services import *  # noqa: F403
