"""Usage readers for the console's overview: daily series per model or key
and period totals, from the usage rollups (never from request log rows).
One-dimensional summaries are ``billing.selectors.usage_summary``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC as _UTC
from datetime import date, datetime, time, timedelta
from typing import TypeAlias

from django.db.models import Sum

from accounts.models import ApiKey
from billing.models import Granularity, UsageRollup
from billing.selectors import usage_summary

OTHER = "other"
# What a series is per: a model name (by model), or an API key id, None for calls without one (by key).
Group: TypeAlias = str | int | None


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    spend_units: tuple[int, ...]  # one value per day
    requests: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DailyUsage:
    days: tuple[date, ...]
    series: tuple[Series, ...]  # largest first; the rest folded into "other"


@dataclass(frozen=True, slots=True)
class UsageTotals:
    requests: int
    errors: int
    charged_units: int
    latency_p50_ms: int
    latency_p95_ms: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_UTC)


def _daily_rows(workspace_id: int, since: date, until: date):
    return UsageRollup.objects.filter(
        workspace_id=workspace_id,
        granularity=Granularity.DAY,
        period_start__gte=_day_start(since),
        period_start__lt=_day_start(until),
    )


def usage_totals(*, workspace_id: int, since: date, until: date) -> UsageTotals:
    """Sums over the days ``[since, until)``: ``usage_summary``'s days folded
    into one (the same request-weighted latency percentiles)."""
    days = usage_summary(
        workspace_id=workspace_id, group_by="day", since=_day_start(since), until=_day_start(until)
    )
    requests = sum(d.requests for d in days)
    return UsageTotals(
        requests=requests,
        errors=sum(d.errors for d in days),
        charged_units=sum(d.charged_units for d in days),
        latency_p50_ms=sum(d.latency_p50_ms * d.requests for d in days) // requests if requests else 0,
        latency_p95_ms=sum(d.latency_p95_ms * d.requests for d in days) // requests if requests else 0,
    )


def usage_by_day(*, workspace_id: int, since: date, until: date, by: str, top: int = 6) -> DailyUsage:
    """Spend and requests per day of ``[since, until)`` per model or per key
    (``by``), the ``top`` largest by spend (then requests) apart, the rest as
    "other"."""
    column = {"model": "model", "key": "api_key_id"}[by]
    days = tuple(since + timedelta(days=i) for i in range((until - since).days))
    index = {d: i for i, d in enumerate(days)}
    spend: dict[Group, list[int]] = {}
    requests: dict[Group, list[int]] = {}
    rows = (
        _daily_rows(workspace_id, since, until)
        .values("period_start", column)
        .annotate(spend=Sum("charged_units"), calls=Sum("requests"))
    )
    for row in rows:
        i = index.get(row["period_start"].astimezone(_UTC).date())
        if i is None:
            continue
        group = row[column]
        spend.setdefault(group, [0] * len(days))[i] += int(row["spend"] or 0)
        requests.setdefault(group, [0] * len(days))[i] += int(row["calls"] or 0)
    ranked = sorted(spend, key=lambda g: (-sum(spend[g]), -sum(requests[g]), str(g)))
    labels = _labels(workspace_id, by, ranked)
    series = [Series(labels[g], tuple(spend[g]), tuple(requests[g])) for g in ranked[:top]]
    rest = ranked[top:]
    if rest:
        series.append(
            Series(
                OTHER,
                tuple(sum(spend[g][i] for g in rest) for i in range(len(days))),
                tuple(sum(requests[g][i] for g in rest) for i in range(len(days))),
            )
        )
    return DailyUsage(days=days, series=tuple(series))


def _labels(workspace_id: int, by: str, groups: list[Group]) -> dict[Group, str]:
    if by == "model":
        return {g: str(g) or "(unknown)" for g in groups}
    key_ids = [g for g in groups if isinstance(g, int)]
    names: dict[Group, str] = {
        pk: name or prefix
        for pk, name, prefix in ApiKey.objects.filter(workspace_id=workspace_id, pk__in=key_ids).values_list(
            "pk", "name", "prefix"
        )
    }
    return {g: names.get(g, "(no key)" if not g else f"key {g}") for g in groups}
