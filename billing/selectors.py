"""Billing readers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import ApiKey
from billing.models import (
    CreditAccount,
    CreditLease,
    Granularity,
    KeyLimits,
    KeySpend,
    LedgerEntry,
    Plan,
    SpendPeriod,
    UsageRollup,
)
from billing.money import units_to_credits, units_to_usd, usd_number
from billing.services.leases import spend_period_key
from gateway.models import RequestLog


@dataclass(frozen=True, slots=True)
class KeyBilling:
    """What the hot path needs to know about a key's money and limits; cached
    with the key (``gateway.auth.Principal``), never read per request."""

    markup: Decimal = Decimal(1)
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_concurrency: int | None = None
    spend_limit_units: int | None = None
    spend_period: str = SpendPeriod.MONTH


def default_plan() -> Plan | None:
    return Plan.objects.filter(is_default=True).order_by("id").first()


# Relations of an ApiKey that ``key_billing`` reads; load them with the key.
KEY_BILLING_RELATED = ("limits", "workspace__credit_account__plan")


def _related(obj: object, name: str) -> Any:
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


def key_billing(*, key: ApiKey) -> KeyBilling:
    """The key's limits (its own, else its workspace plan's). No query when the
    key was loaded with ``KEY_BILLING_RELATED`` and the workspace has a plan."""
    account: CreditAccount | None = _related(key.workspace, "credit_account")
    plan = account.plan if account is not None and account.plan_id else default_plan()
    limits: KeyLimits | None = _related(key, "limits")
    return KeyBilling(
        markup=account.markup if account else Decimal(1),
        rpm_limit=(limits.rpm_limit if limits else None) or (plan.rpm_limit if plan else None),
        tpm_limit=(limits.tpm_limit if limits else None) or (plan.tpm_limit if plan else None),
        max_concurrency=plan.max_concurrency if plan else None,
        spend_limit_units=limits.spend_limit_units if limits else None,
        spend_period=limits.spend_period if limits else SpendPeriod.MONTH,
    )


@dataclass(frozen=True, slots=True)
class Balance:
    balance_units: int
    reserved_units: int

    @property
    def available_units(self) -> int:
        return self.balance_units - self.reserved_units

    def wire(self) -> dict[str, Any]:
        """The one shape of a balance wherever it is shown (``/v1/credits``,
        ``/api/manage/billing/credits``): exact integer units (1 unit =
        $0.0001), and the same amounts as JSON numbers in USD for display."""
        return {
            "currency": "USD",
            "balance": usd_number(units_to_usd(self.balance_units)),
            "reserved": usd_number(units_to_usd(self.reserved_units)),
            "available": usd_number(units_to_usd(self.available_units)),
            "credits": usd_number(units_to_credits(self.balance_units)),
            "balance_units": self.balance_units,
            "reserved_units": self.reserved_units,
            "available_units": self.available_units,
        }


def workspace_balance(*, workspace_id: int) -> Balance:
    row = (
        CreditAccount.objects.filter(workspace_id=workspace_id)
        .values("balance_units", "reserved_units")
        .first()
    )
    if row is None:
        return Balance(0, 0)
    return Balance(row["balance_units"], row["reserved_units"])


@dataclass(frozen=True, slots=True)
class KeySpendNow:
    period: str
    period_key: str
    spent_units: int
    reserved_units: int
    limit_units: int | None


def key_spend_now(*, api_key_id: int, period: str, limit_units: int | None) -> KeySpendNow:
    key = spend_period_key(period, timezone.now())
    row = KeySpend.objects.filter(api_key_id=api_key_id, period_key=key).first()
    if row is None and limit_units is None:
        # Keys without a cap keep no spend rows; their spend comes from the ledger's charges.
        spent = _charged_by_key(api_key_id=api_key_id, period=period)
        return KeySpendNow(period, key, spent, 0, None)
    return KeySpendNow(
        period, key, row.spent_units if row else 0, row.reserved_units if row else 0, limit_units
    )


def _charged_by_key(*, api_key_id: int, period: str) -> int:
    now = timezone.now()
    logs = RequestLog.objects.filter(api_key_id=api_key_id)
    if period == SpendPeriod.DAY:
        logs = logs.filter(created_at__gte=now.replace(hour=0, minute=0, second=0, microsecond=0))
    elif period == SpendPeriod.MONTH:
        logs = logs.filter(created_at__gte=now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    return int(logs.aggregate(total=Sum("charged_units"))["total"] or 0)


@dataclass(frozen=True, slots=True)
class LedgerMismatch:
    workspace_id: int
    balance_units: int
    ledger_units: int


def ledger_mismatches() -> list[LedgerMismatch]:
    """Every workspace whose cached balance differs from the sum of its ledger
    (including ledger entries with no account row, and accounts with no entries)."""
    sums = dict(
        LedgerEntry.objects.values("workspace_id")
        .annotate(total=Sum("amount_units"))
        .values_list("workspace_id", "total")
    )
    balances = dict(CreditAccount.objects.values_list("workspace_id", "balance_units"))
    out = []
    for workspace_id in sorted(set(sums) | set(balances)):
        ledger = int(sums.get(workspace_id) or 0)
        balance = int(balances.get(workspace_id) or 0)
        if ledger != balance:
            out.append(LedgerMismatch(workspace_id, balance, ledger))
    return out


@dataclass(frozen=True, slots=True)
class ReservedMismatch:
    workspace_id: int
    reserved_units: int
    leased_units: int
    api_key_id: int | None = None  # set: a key's spend row for ``period_key``
    period_key: str = ""


def _sum_of_leases(leases: Any) -> Coalesce:
    total = leases.order_by().values("workspace_id").annotate(total=Sum("amount_units")).values("total")
    return Coalesce(Subquery(total), Value(0))


def reserved_mismatches() -> list[ReservedMismatch]:
    """Every credit account (and key spend row) whose ``reserved_units`` differs
    from the credit leases held against it. Each is one statement, so a lease
    borrowed meanwhile can't make a false alarm."""
    out = [
        ReservedMismatch(row["workspace_id"], row["reserved_units"], row["leased"])
        for row in CreditAccount.objects.annotate(
            leased=_sum_of_leases(
                CreditLease.objects.filter(workspace_id=OuterRef("workspace_id"), api_key__isnull=True)
            )
        ).values("workspace_id", "reserved_units", "leased")
        if row["reserved_units"] != row["leased"]
    ]
    key_leases = CreditLease.objects.filter(
        api_key_id=OuterRef("api_key_id"), period_key=OuterRef("period_key")
    )
    spends = KeySpend.objects.annotate(leased=_sum_of_leases(key_leases)).values(
        "api_key_id", "api_key__workspace_id", "period_key", "reserved_units", "leased"
    )
    out += [
        ReservedMismatch(
            row["api_key__workspace_id"],
            row["reserved_units"],
            row["leased"],
            row["api_key_id"],
            row["period_key"],
        )
        for row in spends
        if row["reserved_units"] != row["leased"]
    ]
    return out


@dataclass(frozen=True, slots=True)
class StaleLease:
    lease_id: int
    workspace_id: int
    holder: str
    amount_units: int
    renewed_at: datetime


def stale_leases(*, older_than: timedelta) -> list[StaleLease]:
    """Leases not renewed for ``older_than``: their process is gone and no
    running process has reclaimed them yet (credit held back from calls)."""
    rows = CreditLease.objects.filter(renewed_at__lt=timezone.now() - older_than).order_by("pk")
    return [
        StaleLease(row.pk, row.workspace_id, row.holder, row.amount_units, row.renewed_at) for row in rows
    ]


@dataclass(frozen=True, slots=True)
class CreditsSummary:
    balance: Balance
    key_spend: KeySpendNow


def credits_summary(
    *, workspace_id: int, api_key_id: int, spend_period: str, spend_limit_units: int | None
) -> CreditsSummary:
    return CreditsSummary(
        balance=workspace_balance(workspace_id=workspace_id),
        key_spend=key_spend_now(api_key_id=api_key_id, period=spend_period, limit_units=spend_limit_units),
    )


def workspace_plan(*, workspace_id: int) -> tuple[str | None, str]:
    account = CreditAccount.objects.select_related("plan").filter(workspace_id=workspace_id).first()
    plan = account.plan if account and account.plan_id else default_plan()
    return (plan.slug if plan else None), (account.plan_status if account else "active")


# ------------------------------------------------------------------ usage

USAGE_GROUPS = ("day", "model", "key", "provider")


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Usage summed over one group. The latencies are the rollups' percentiles
    weighted by their requests: an approximation, exact when one rollup row
    makes the group."""

    group: str
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_units: int
    charged_units: int
    latency_p50_ms: int
    latency_p95_ms: int


def usage_summary(*, workspace_id: int, group_by: str, since: datetime, until: datetime) -> list[UsageRow]:
    """Daily rollups of ``[since, until)`` summed per day, model, key or provider
    (days ascending; the others by charge, largest first). Never reads request logs."""
    if group_by not in USAGE_GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(USAGE_GROUPS)}")
    column = {"day": "period_start", "model": "model", "key": "api_key_id", "provider": "provider"}[group_by]
    rows = (
        UsageRollup.objects.filter(
            workspace_id=workspace_id,
            granularity=Granularity.DAY,
            period_start__gte=since,
            period_start__lt=until,
        )
        .values(column)
        .annotate(
            sum_requests=Sum("requests"),
            sum_errors=Sum("errors"),
            sum_input_tokens=Sum("input_tokens"),
            sum_output_tokens=Sum("output_tokens"),
            sum_cost_units=Sum("cost_units"),
            sum_charged_units=Sum("charged_units"),
            p50_weighted=Sum(F("latency_p50_ms") * F("requests")),
            p95_weighted=Sum(F("latency_p95_ms") * F("requests")),
        )
        .order_by(column if group_by == "day" else "-sum_charged_units")
    )
    rows = list(rows)
    labels: dict[Any, str] = {}
    if group_by == "key":
        ids = {r["api_key_id"] for r in rows}
        labels = dict(
            ApiKey.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list("pk", "prefix")
        )
    out = []
    for r in rows:
        value = r[column]
        if group_by == "day":
            label = value.date().isoformat()
        elif group_by == "key":
            label = labels.get(value, "(no key)" if not value else f"key {value}")
        else:
            label = value or "(none)"
        requests = int(r["sum_requests"] or 0)
        out.append(
            UsageRow(
                group=label,
                requests=requests,
                errors=int(r["sum_errors"] or 0),
                input_tokens=int(r["sum_input_tokens"] or 0),
                output_tokens=int(r["sum_output_tokens"] or 0),
                cost_units=int(r["sum_cost_units"] or 0),
                charged_units=int(r["sum_charged_units"] or 0),
                latency_p50_ms=int((r["p50_weighted"] or 0) / requests) if requests else 0,
                latency_p95_ms=int((r["p95_weighted"] or 0) / requests) if requests else 0,
            )
        )
    return out


# ----------------------------------------------------------------- ledger


@dataclass(frozen=True, slots=True)
class LedgerPage:
    entries: list[LedgerEntry]
    next_cursor: int | None  # the last id shown; the next page has smaller ids


def ledger_page(*, workspace_id: int, before_id: int | None = None, limit: int = 50) -> LedgerPage:
    """Entries newest first, keyset-paginated on the (increasing) id."""
    limit = max(1, min(limit, 200))
    entries = LedgerEntry.objects.filter(workspace_id=workspace_id).select_related("created_by")
    if before_id is not None:
        entries = entries.filter(pk__lt=before_id)
    rows = list(entries.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return LedgerPage(entries=rows, next_cursor=rows[-1].pk if more else None)


# ----------------------------------------------------------------- plans


@dataclass(frozen=True, slots=True)
class PlanChoice:
    plan: Plan
    current: bool
    for_sale: bool  # a paid plan Stripe can sell (it has a Stripe price)


@dataclass(frozen=True, slots=True)
class WorkspacePlan:
    plan: Plan | None
    status: str
    subscribed: bool  # a Stripe subscription is running
    choices: list[PlanChoice]


def workspace_plan_detail(*, workspace_id: int) -> WorkspacePlan:
    """The workspace's plan (the default one until another is assigned), and
    every plan it could change to."""
    account = CreditAccount.objects.select_related("plan").filter(workspace_id=workspace_id).first()
    plans = list(Plan.objects.order_by("price_cents", "id"))
    current = account.plan if account and account.plan_id else next((p for p in plans if p.is_default), None)
    return WorkspacePlan(
        plan=current,
        status=account.plan_status if account else "active",
        subscribed=bool(account and account.stripe_subscription_id),
        choices=[
            PlanChoice(
                p, current is not None and p.pk == current.pk, bool(p.price_cents == 0 or p.stripe_price_id)
            )
            for p in plans
        ],
    )
