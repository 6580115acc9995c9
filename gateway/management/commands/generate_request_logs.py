"""Synthetic request logs and their usage rollups for one workspace (bench/).

    python manage.py generate_request_logs --rows 1000000 --days 30 --workspace bench

Creates the workspace (owner ``bench@junction.test``, password ``bench``) and
a few keys if missing, writes the rows through the log writer's batch insert
(``COPY`` on PostgreSQL), then computes the hourly and daily rollups of the
days covered. Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from accounts.models import ApiKey, Membership, Role, Workspace
from accounts.services import api_key_create
from billing.models import Granularity
from billing.services.rollups import usage_rollup_compute
from gateway.logs import insert_rows

MODELS = [  # (model, provider, weight)
    ("gpt-4o-mini", "openai", 40),
    ("gpt-4o", "openai", 15),
    ("claude-haiku-4-5", "anthropic", 15),
    ("claude-sonnet-4-5", "anthropic", 10),
    ("gemini-2.5-flash", "gemini", 10),
    ("deepseek-chat", "deepseek", 5),
    ("mistral-small-latest", "mistral", 5),
]
STATUSES = [  # (status, error type, weight)
    (200, "", 940),
    (429, "rate_limit_error", 20),
    (400, "invalid_request_error", 15),
    (502, "upstream_error", 10),
    (404, "model_not_found", 5),
    (504, "timeout_error", 5),
    (402, "insufficient_quota", 5),
]
APPS = ["support", "search", "agent", "batch"]
BATCH = 10_000


class Command(BaseCommand):
    help = "Generate N synthetic request-log rows and their rollups for one workspace (bench)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--workspace", default="bench")
        parser.add_argument("--keys", type=int, default=5)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--no-rollups", action="store_true")

    def handle(self, *args, **opts) -> None:
        rng = random.Random(opts["seed"])
        workspace = self._workspace(opts["workspace"])
        keys = list(ApiKey.objects.filter(workspace=workspace).values_list("pk", flat=True))
        while len(keys) < opts["keys"]:
            key, _ = api_key_create(workspace=workspace, name=f"bench key {len(keys) + 1}")
            keys.append(key.pk)
        end = datetime.now(UTC)
        start = end - timedelta(days=opts["days"])
        span = (end - start).total_seconds()
        models, model_weights = [m[:2] for m in MODELS], [m[2] for m in MODELS]
        statuses, status_weights = [s[:2] for s in STATUSES], [s[2] for s in STATUSES]
        tag = f"{workspace.pk}_{opts['seed']}_{int(time.time())}"
        began = time.monotonic()
        written = 0
        while written < opts["rows"]:
            n = min(BATCH, opts["rows"] - written)
            rows = []
            for i in range(n):
                model, provider = rng.choices(models, model_weights)[0]
                status, error = rng.choices(statuses, status_weights)[0]
                ok = status == 200
                inp, out = rng.randint(20, 4000), rng.randint(1, 800) if ok else 0
                latency = int(rng.lognormvariate(6.3, 0.6))
                rows.append(
                    {
                        "request_id": f"req_bench_{tag}_{written + i:08d}",
                        "created_at": start + timedelta(seconds=rng.random() * span),
                        "workspace_id": workspace.pk,
                        "api_key_id": rng.choice(keys),
                        "endpoint": "chat.completions",
                        "model_requested": model,
                        "model_used": model if status != 404 else "",
                        "provider": provider if status != 404 else "",
                        "status_code": status,
                        "error_type": error,
                        "stream": rng.random() < 0.4,
                        "input_tokens": inp if ok else 0,
                        "output_tokens": out,
                        "cost_units": (inp + out * 4) // 100 if ok else 0,
                        "charged_units": (inp + out * 4) // 100 + 1 if ok else 0,
                        "ttfb_ms": latency // 3 if ok else None,
                        "latency_ms": latency,
                        "metadata": {"app": rng.choice(APPS)},
                        "extra": {},
                    }
                )
            insert_rows(rows)
            written += n
            self.stdout.write(f"\r{written:,} rows", ending="")
            self.stdout.flush()
        self.stdout.write(f"\n{written:,} rows in {time.monotonic() - began:.1f} s")
        if opts["no_rollups"]:
            return
        began = time.monotonic()
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day <= end:
            for hour in range(24):
                usage_rollup_compute(granularity=Granularity.HOUR, start=day + timedelta(hours=hour))
            usage_rollup_compute(granularity=Granularity.DAY, start=day)
            day += timedelta(days=1)
        self.stdout.write(f"rollups in {time.monotonic() - began:.1f} s")

    def _workspace(self, slug: str) -> Workspace:
        workspace, _ = Workspace.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
        User = get_user_model()
        owner, created = User.objects.get_or_create(
            username=f"{slug}@junction.test", defaults={"email": f"{slug}@junction.test"}
        )
        if created:
            owner.set_password(slug)
            owner.save()
        Membership.objects.get_or_create(workspace=workspace, user=owner, defaults={"role": Role.OWNER})
        return workspace
