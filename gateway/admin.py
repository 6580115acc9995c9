from django.contrib import admin

from gateway.models import CatalogModel, Deployment, Provider, RequestLog


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "kind", "base_url", "requires_key", "enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["slug", "name"]


class DeploymentInline(admin.TabularInline):
    model = Deployment
    extra = 0


@admin.register(CatalogModel)
class CatalogModelAdmin(admin.ModelAdmin):
    list_display = [
        "model_id",
        "owned_by",
        "input_price",
        "cached_input_price",
        "output_price",
        "quality_tier",
        "enabled",
    ]
    list_filter = ["owned_by", "enabled", "quality_tier"]
    search_fields = ["model_id", "display_name"]
    inlines = [DeploymentInline]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["model", "provider", "upstream_model", "priority", "enabled"]
    list_filter = ["provider", "enabled"]
    search_fields = ["model__model_id", "upstream_model"]
    list_select_related = ["model", "provider"]


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    list_display = [
        "request_id",
        "created_at",
        "workspace",
        "endpoint",
        "model_requested",
        "provider",
        "status_code",
        "latency_ms",
    ]
    list_filter = ["status_code", "endpoint", "provider", "stream"]
    # Exact-match search on indexed columns keeps this fast on a large table.
    search_fields = ["=request_id", "=workspace__slug", "=model_requested"]
    date_hierarchy = "created_at"
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace", "api_key"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
