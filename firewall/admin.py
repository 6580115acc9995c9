from django.contrib import admin

from firewall.models import AuditEntry, Policy, Rule


class RuleInline(admin.TabularInline):
    model = Rule
    extra = 0
    fields = [
        "order",
        "name",
        "enabled",
        "matcher",
        "pattern",
        "ignore_case",
        "detector",
        "scopes",
        "action",
        "label",
    ]


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    # Read-mostly: changes made here bypass validation and the audit trail;
    # customers change policies through the management API and console.
    list_display = ["name", "workspace", "enabled", "order", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "workspace__slug"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]
    inlines = [RuleInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "workspace", "actor_label", "action", "policy_name"]
    list_filter = ["action"]
    search_fields = ["workspace__slug", "policy_name", "actor_label"]
    list_select_related = ["workspace"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
