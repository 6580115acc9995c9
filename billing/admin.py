"""Operators' view of billing. The ledger is read-only; the one thing an
operator adds is an adjustment, booked through ``credits_adjust`` with who
(the signed-in operator) and why (required)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from billing.models import (
    CreditAccount,
    CreditLease,
    EntryKind,
    IdempotencyRecord,
    KeyLimits,
    LedgerEntry,
    Plan,
    StripeEvent,
    UsageRollup,
)
from billing.services import credits_adjust


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "slug",
        "name",
        "monthly_grant_units",
        "price_cents",
        "rpm_limit",
        "tpm_limit",
        "max_concurrency",
    ]


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ["workspace", "balance_units", "reserved_units", "markup", "plan", "plan_status"]
    list_select_related = ["workspace", "plan"]
    search_fields = ["workspace__slug", "stripe_customer_id"]
    # The balance only moves through the ledger (add an adjustment there).
    readonly_fields = [
        "workspace",
        "balance_units",
        "reserved_units",
        "stripe_customer_id",
        "stripe_subscription_id",
    ]

    def has_add_permission(self, request):
        return False


class AdjustmentForm(forms.ModelForm):
    class Meta:
        model = LedgerEntry
        fields = ["workspace", "amount_units", "reason"]
        help_texts = {
            "amount_units": "Signed units (1 unit = $0.0001): positive adds credit, negative removes it."
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("amount_units"):
            raise forms.ValidationError("An adjustment must not be zero.")
        if not (data.get("reason") or "").strip():
            raise forms.ValidationError("Say why: an adjustment needs a reason.")
        return data


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "workspace",
        "kind",
        "amount_units",
        "request_id",
        "stripe_object_id",
        "created_by",
    ]
    list_filter = ["kind"]
    search_fields = ["workspace__slug", "request_id", "stripe_object_id", "idempotency_key"]
    list_select_related = ["workspace", "created_by"]
    form = AdjustmentForm

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        entry = credits_adjust(
            workspace_id=obj.workspace_id,
            units=obj.amount_units,
            reason=obj.reason,
            created_by=request.user,
        )
        obj.pk, obj.kind = entry.pk, EntryKind.ADJUSTMENT


@admin.register(CreditLease)
class CreditLeaseAdmin(ReadOnlyAdmin):
    """Credit server processes hold back for calls in flight (billing.book)."""

    list_display = ["id", "workspace", "api_key", "period_key", "holder", "amount_units", "renewed_at"]
    search_fields = ["holder"]
    raw_id_fields = ["workspace", "api_key"]


@admin.register(KeyLimits)
class KeyLimitsAdmin(admin.ModelAdmin):
    list_display = ["api_key", "rpm_limit", "tpm_limit", "spend_limit_units", "spend_period"]
    raw_id_fields = ["api_key"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "created_at"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "key", "request_id", "status", "created_at"]


@admin.register(UsageRollup)
class UsageRollupAdmin(ReadOnlyAdmin):
    list_display = [
        "granularity",
        "period_start",
        "workspace_id",
        "api_key_id",
        "model",
        "provider",
        "requests",
    ]
    list_filter = ["granularity"]
