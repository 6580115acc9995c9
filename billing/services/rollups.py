"""Usage rollups: request logs summed per hour and day, per workspace, key,
model and provider. Recomputing a period replaces its rows, so it is idempotent."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction

from billing.models import Granularity, UsageRollup
from gateway.models import RequestLog

STEP = {Granularity.HOUR: timedelta(hours=1), Granularity.DAY: timedelta(days=1)}


def period_start(granularity: Granularity | str, when: datetime) -> datetime:
    start = when.replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if granularity == Granularity.DAY else start


def percentile(sorted_values: list[int], p: float) -> int:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not sorted_values:
        return 0
    rank = max(math.ceil(p / 100 * len(sorted_values)), 1)
    return sorted_values[rank - 1]


@dataclass(slots=True)
class _Sums:
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_units: int = 0
    charged_units: int = 0
    latencies: list[int] = field(default_factory=list)


@transaction.atomic
def usage_rollup_compute(*, granularity: Granularity | str, start: datetime) -> int:
    """(Re)compute one period; returns the number of rollup rows it has."""
    granularity = Granularity(granularity)
    start = period_start(granularity, start)
    end = start + STEP[granularity]
    groups: dict[tuple[int, int, str, str], _Sums] = {}
    logs = RequestLog.objects.filter(created_at__gte=start, created_at__lt=end, workspace_id__isnull=False)
    columns = (
        "workspace_id", "api_key_id", "model_used", "model_requested", "provider", "status_code", "error_type",
        "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens", "cost_units",
        "charged_units", "latency_ms",
    )  # fmt: skip
    for row in logs.values_list(*columns).iterator():
        (
            ws,
            key,
            used,
            requested,
            provider,
            status,
            error,
            inp,
            cached,
            out,
            reasoning,
            cost,
            charged,
            latency,
        ) = row
        sums = groups.setdefault((ws, key or 0, used or requested, provider), _Sums())
        sums.requests += 1
        sums.errors += 1 if status >= 400 or error else 0
        sums.input_tokens += inp
        sums.cached_input_tokens += cached
        sums.output_tokens += out
        sums.reasoning_tokens += reasoning
        sums.cost_units += cost
        sums.charged_units += charged
        sums.latencies.append(latency)
    UsageRollup.objects.filter(granularity=granularity, period_start=start).delete()
    rollups = []
    for (ws, key, model, provider), s in sorted(groups.items()):
        latencies = sorted(s.latencies)
        rollups.append(
            UsageRollup(
                granularity=granularity,
                period_start=start,
                workspace_id=ws,
                api_key_id=key,
                model=model,
                provider=provider,
                requests=s.requests,
                errors=s.errors,
                input_tokens=s.input_tokens,
                cached_input_tokens=s.cached_input_tokens,
                output_tokens=s.output_tokens,
                reasoning_tokens=s.reasoning_tokens,
                cost_units=s.cost_units,
                charged_units=s.charged_units,
                latency_p50_ms=percentile(latencies, 50),
                latency_p95_ms=percentile(latencies, 95),
                latency_p99_ms=percentile(latencies, 99),
            )
        )
    UsageRollup.objects.bulk_create(rollups)
    return len(rollups)
