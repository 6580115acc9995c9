"""Console page: billing (owners and admins). Balance, plan, top-ups and plan
changes through Stripe Checkout, the ledger."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing.errors import BillingError
from billing.selectors import ledger_page, workspace_plan_detail
from billing.services.payments import checkout_subscription_create, checkout_topup_create
from billing.services.plans import plan_assign
from console.permissions import console_of, manager_required

LEDGER_PAGE_SIZE = 25
CHECKOUT_RETURN = {
    "success": "Payment received. Credits appear as soon as Stripe confirms it.",
    "canceled": "Checkout canceled: nothing was charged.",
}


def payments_missing() -> list[str]:
    """The settings payments need that are not set."""
    return [name for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET") if not getattr(settings, name)]


@manager_required
def billing(request: HttpRequest) -> HttpResponse:
    workspace_id = console_of(request).workspace.pk
    returned = request.GET.get("checkout", "")
    if returned in CHECKOUT_RETURN:
        (messages.success if returned == "success" else messages.info)(request, CHECKOUT_RETURN[returned])
        return redirect("console:billing")
    try:
        before = int(request.GET["before"]) if "before" in request.GET else None
    except ValueError:
        before = None
    context = {
        "plan": workspace_plan_detail(workspace_id=workspace_id),
        "ledger": ledger_page(workspace_id=workspace_id, before_id=before, limit=LEDGER_PAGE_SIZE),
        "paged": before is not None,
        "packs": sorted(settings.CREDIT_PACKS.items(), key=lambda item: item[1]),
        "missing": payments_missing(),
    }
    return render(request, "console/billing.html", context)


def _return_urls(request: HttpRequest) -> dict[str, str]:
    page = request.build_absolute_uri(reverse("console:billing"))
    return {"success_url": f"{page}?checkout=success", "cancel_url": f"{page}?checkout=canceled"}


@manager_required
@require_POST
def billing_topup(request: HttpRequest) -> HttpResponse:
    try:
        link = checkout_topup_create(
            workspace_id=console_of(request).workspace.pk,
            pack=request.POST.get("pack", ""),
            **_return_urls(request),
        )
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("console:billing")
    return redirect(link.url)


@manager_required
@require_POST
def billing_plan(request: HttpRequest) -> HttpResponse:
    """A paid plan goes through Stripe Checkout (the webhook assigns it once
    paid); the free plan is assigned at once when no subscription runs."""
    workspace_id = console_of(request).workspace.pk
    detail = workspace_plan_detail(workspace_id=workspace_id)
    choice = next((c for c in detail.choices if c.plan.slug == request.POST.get("plan")), None)
    if choice is None or choice.current:
        messages.error(request, "Pick another plan.")
        return redirect("console:billing")
    if choice.plan.price_cents == 0:
        if detail.subscribed:
            messages.error(
                request, "Cancel the running Stripe subscription first; the plan then returns to free."
            )
        else:
            plan_assign(workspace_id=workspace_id, plan_slug=choice.plan.slug)
            messages.success(request, f"You are on the {choice.plan.name} plan.")
        return redirect("console:billing")
    try:
        link = checkout_subscription_create(
            workspace_id=workspace_id, plan_slug=choice.plan.slug, **_return_urls(request)
        )
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("console:billing")
    return redirect(link.url)
