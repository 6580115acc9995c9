"""Plans: assignment and the monthly grant (once per workspace, plan and month)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey
from billing.errors import BillingError, BillingErrorCode
from billing.models import CreditAccount, LedgerEntry, Plan, PlanStatus
from billing.plan_defaults import DEFAULT_PLANS
from billing.services.ledger import credit_account_get_or_create, credits_grant
from gateway.auth import forget_key


def plans_ensure_defaults() -> None:
    for plan in DEFAULT_PLANS:
        Plan.objects.get_or_create(slug=plan["slug"], defaults=plan)


def grant_period(now: datetime) -> str:
    """Grants are per calendar month (UTC)."""
    return f"{now:%Y-%m}"


def plan_grant_key(*, workspace_id: int, plan: Plan, period: str) -> str:
    return f"grant:{workspace_id}:{plan.slug}:{period}"


def plan_grant_for_period(*, workspace_id: int, plan: Plan, period: str) -> LedgerEntry | None:
    """The plan's monthly credits; a second call for the same period books nothing."""
    if plan.monthly_grant_units <= 0:
        return None
    return credits_grant(
        workspace_id=workspace_id,
        units=plan.monthly_grant_units,
        reason=f"{plan.name} plan credits for {period}",
        idempotency_key=plan_grant_key(workspace_id=workspace_id, plan=plan, period=period),
    )


@transaction.atomic
def plan_assign(
    *,
    workspace_id: int,
    plan_slug: str,
    status: str = PlanStatus.ACTIVE,
    stripe_customer_id: str = "",
    stripe_subscription_id: str = "",
) -> CreditAccount:
    plan = Plan.objects.filter(slug=plan_slug).first()
    if plan is None:
        raise BillingError(BillingErrorCode.UNKNOWN_PLAN, f"There is no plan '{plan_slug}'.")
    account = credit_account_get_or_create(workspace_id=workspace_id)
    account.plan = plan
    account.plan_status = status
    fields = ["plan", "plan_status", "updated_at"]
    if stripe_customer_id:
        account.stripe_customer_id = stripe_customer_id
        fields.append("stripe_customer_id")
    if stripe_subscription_id:
        account.stripe_subscription_id = stripe_subscription_id
        fields.append("stripe_subscription_id")
    account.save(update_fields=fields)
    _forget_cached_principals(workspace_id)
    return account


def plans_grant_due(*, now: datetime | None = None) -> int:
    """The beat task's body: grant this month's credits to every workspace whose
    plan is active. Paid plans become active when Stripe reports a paid invoice
    (which grants at once, with the same key, so the two never double up)."""
    period = grant_period(now or timezone.now())
    default = Plan.objects.filter(is_default=True).first()
    granted = 0
    accounts = CreditAccount.objects.filter(plan_status=PlanStatus.ACTIVE).select_related("plan")
    for account in accounts.iterator():
        plan = account.plan or default
        if plan is not None and plan_grant_for_period(
            workspace_id=account.workspace_id, plan=plan, period=period
        ):
            granted += 1
    return granted


def _forget_cached_principals(workspace_id: int) -> None:
    """Limits ride on the cached key records: drop them so the new plan applies."""
    for key_hash in ApiKey.objects.filter(workspace_id=workspace_id).values_list("key_hash", flat=True):
        forget_key(key_hash)
