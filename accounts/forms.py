"""Console forms for accounts: API keys, invitations, members, the workspace."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from django import forms
from django.utils import timezone

from accounts.models import KeyScope, Role
from billing.models import SpendPeriod
from billing.money import UNITS_PER_USD


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=200, required=True, help_text="What uses it, e.g. “backend prod”.")
    scope = forms.ChoiceField(
        choices=KeyScope.choices,
        initial=KeyScope.INFERENCE,
        help_text="Inference keys call /v1; admin keys call the management API.",
    )
    rpm_limit = forms.IntegerField(
        label="Requests per minute", min_value=1, required=False, help_text="Empty: the plan's limit."
    )
    tpm_limit = forms.IntegerField(
        label="Tokens per minute", min_value=1, required=False, help_text="Empty: the plan's limit."
    )
    spend_limit_usd = forms.DecimalField(
        label="Spend cap (USD)",
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=4,
        required=False,
        help_text="Calls stop once the key has spent this much in the period.",
    )
    spend_period = forms.ChoiceField(
        label="Cap period", choices=SpendPeriod.choices, initial=SpendPeriod.MONTH
    )
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The key stops working at the end of that day (UTC).",
    )

    def __init__(self, *args, may_create_admin: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not may_create_admin:
            # Members manage their own inference keys only.
            scope = self.fields["scope"]
            assert isinstance(scope, forms.ChoiceField)
            scope.choices = [(KeyScope.INFERENCE, KeyScope.INFERENCE.label)]

    def clean_expires_on(self) -> date | None:
        day = self.cleaned_data.get("expires_on")
        if day is not None and day < timezone.now().date():
            raise forms.ValidationError("Pick today or a later day.")
        return day

    @property
    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.combine(day, time.max, tzinfo=UTC)

    @property
    def spend_limit_units(self) -> int | None:
        usd = self.cleaned_data.get("spend_limit_usd")
        return None if usd is None else int(usd * UNITS_PER_USD)

    @property
    def has_limits(self) -> bool:
        data = self.cleaned_data
        return any(data.get(f) is not None for f in ("rpm_limit", "tpm_limit", "spend_limit_usd"))


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class WorkspaceForm(forms.Form):
    name = forms.CharField(label="Workspace name", max_length=200)
