from django.contrib import admin, messages

from accounts.admin_operator import OPERATOR_ACTIONS
from accounts.models import ApiKey, Membership, Workspace
from accounts.services import api_key_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "is_active", "suspended", "created_at"]
    search_fields = ["slug", "name"]
    list_filter = ["is_active", "suspended"]
    inlines = [MembershipInline]
    # Suspension, credits and plan change only through the actions (services), never by editing fields.
    readonly_fields = ["suspended", "suspended_reason", "suspended_at"]
    actions = OPERATOR_ACTIONS


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["workspace", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["workspace__slug", "user__username", "user__email"]
    raw_id_fields = ["workspace", "user"]
    list_select_related = ["workspace", "user"]


@admin.action(description="Revoke selected keys")
def revoke_keys(modeladmin, request, queryset):
    for key in queryset:
        api_key_revoke(key=key)
    messages.success(request, f"Revoked {queryset.count()} key(s).")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # Secrets are never stored; the hash is not shown either.
    list_display = ["prefix", "name", "workspace", "scope", "created_at", "expires_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["=prefix", "name", "workspace__slug"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace", "created_by"]
    exclude = ["key_hash"]
    readonly_fields = [
        "prefix",
        "workspace",
        "scope",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = [revoke_keys]

    def has_add_permission(self, request):
        # Keys are created where the secret can be shown once: the command or the console.
        return False
