from typing import Any

from django import forms
from django.contrib import admin

from routing_rules.models import ProviderKey, RoutingRule
from routing_rules.router import RuleFormatError
from routing_rules.services import routing_rule_validate, rules_changed


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = ["workspace", "name", "description", "priority", "enabled", "match", "conditions", "action"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        try:
            routing_rule_validate(
                conditions=data.get("conditions"), action=data.get("action"), match=data.get("match", "all")
            )
        except RuleFormatError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ["name", "workspace", "priority", "enabled", "match", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "workspace__slug"]
    raw_id_fields = ["workspace", "created_by"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        rules_changed(obj.workspace_id)


@admin.register(ProviderKey)
class ProviderKeyAdmin(admin.ModelAdmin):
    """Shows the hint only; the ciphertext is never displayed or editable here."""

    list_display = ["workspace", "provider", "position", "hint", "label", "enabled", "created_at"]
    list_filter = ["provider", "enabled"]
    search_fields = ["workspace__slug", "label"]
    fields = ["workspace", "provider", "position", "label", "hint", "enabled", "created_at", "rotated_at"]
    readonly_fields = ["hint", "created_at", "rotated_at"]
    raw_id_fields = ["workspace"]

    def has_add_permission(self, request):  # keys are added through the console/API (encrypted)
        return False
