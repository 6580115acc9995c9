from django.contrib import admin

from routing_rules.models import ProviderKey, RoutingRule


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "priority", "enabled", "match", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "workspace__slug"]
    raw_id_fields = ["workspace", "created_by"]


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
