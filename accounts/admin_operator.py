"""Operators' actions on workspaces in Django admin: adjust credits (an audited
ledger entry through ``billing.services.credits_adjust``, never a balance
edit), change the plan, suspend and lift a suspension. Each asks for its
inputs on an intermediate page, then calls the one service that does it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.models import Workspace
from accounts.suspension import workspace_suspend, workspace_unsuspend
from billing.errors import BillingError
from billing.models import Plan
from billing.money import units_to_usd
from billing.services import credits_adjust
from billing.services.plans import plan_assign
from console.permissions import user_of


class AdjustCreditsForm(forms.Form):
    units = forms.IntegerField(
        help_text="Signed units (1 unit = $0.0001): positive adds credit, negative removes it."
    )
    reason = forms.CharField(max_length=500, help_text="Recorded on the ledger entry with your name.")

    def clean_units(self) -> int:
        units = self.cleaned_data["units"]
        if units == 0:
            raise forms.ValidationError("An adjustment must not be zero.")
        return units


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.order_by("price_cents", "slug"), to_field_name="slug")


class SuspendForm(forms.Form):
    reason = forms.CharField(
        max_length=500, help_text="Shown to the workspace's members in the console.", widget=forms.Textarea
    )


def _ask(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Workspace],
    *,
    form: forms.Form,
    action: str,
    title: str,
) -> TemplateResponse:
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "workspaces": list(queryset),
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/accounts/workspace/operator_action.html", context)


def _submitted(request: HttpRequest) -> bool:
    return request.method == "POST" and "apply" in request.POST


@admin.action(description="Adjust credits (ledger entry with a reason)")
def adjust_credits(modeladmin, request: HttpRequest, queryset: QuerySet[Workspace]) -> HttpResponse | None:
    form = AdjustCreditsForm(request.POST if _submitted(request) else None)
    if not form.is_valid():
        return _ask(modeladmin, request, queryset, form=form, action="adjust_credits", title="Adjust credits")
    units, reason = form.cleaned_data["units"], form.cleaned_data["reason"]
    for workspace in queryset:
        try:
            entry = credits_adjust(
                workspace_id=workspace.pk, units=units, reason=reason, created_by=user_of(request)
            )
        except BillingError as exc:
            modeladmin.message_user(request, f"{workspace.slug}: {exc}", messages.ERROR)
            continue
        modeladmin.message_user(
            request,
            f"{workspace.slug}: {units_to_usd(entry.amount_units):+} USD booked (ledger entry {entry.pk}).",
        )
    return None


@admin.action(description="Change plan")
def change_plan(modeladmin, request: HttpRequest, queryset: QuerySet[Workspace]) -> HttpResponse | None:
    form = ChangePlanForm(request.POST if _submitted(request) else None)
    if not form.is_valid():
        return _ask(modeladmin, request, queryset, form=form, action="change_plan", title="Change plan")
    plan: Plan = form.cleaned_data["plan"]
    for workspace in queryset:
        plan_assign(workspace_id=workspace.pk, plan_slug=plan.slug)
    modeladmin.message_user(request, f"{queryset.count()} workspace(s) moved to the {plan.name} plan.")
    return None


@admin.action(description="Suspend (keys stop within seconds)")
def suspend(modeladmin, request: HttpRequest, queryset: QuerySet[Workspace]) -> HttpResponse | None:
    form = SuspendForm(request.POST if _submitted(request) else None)
    if not form.is_valid():
        return _ask(modeladmin, request, queryset, form=form, action="suspend", title="Suspend workspaces")
    for workspace in queryset:
        workspace_suspend(workspace=workspace, reason=form.cleaned_data["reason"])
    modeladmin.message_user(request, f"Suspended {queryset.count()} workspace(s).", messages.WARNING)
    return None


@admin.action(description="Lift suspension")
def unsuspend(modeladmin, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
    for workspace in queryset.filter(suspended=True):
        workspace_unsuspend(workspace=workspace)
    modeladmin.message_user(request, "Suspension lifted.")


OPERATOR_ACTIONS = [adjust_credits, change_plan, suspend, unsuspend]
