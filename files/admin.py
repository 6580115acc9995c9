from django.contrib import admin

from files.models import File, GeneratedImage, ImageJob, UpstreamFile


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "workspace",
        "purpose",
        "filename",
        "bytes",
        "content_type",
        "created_at",
        "expires_at",
    )
    list_filter = ("purpose", "content_type", "status")
    search_fields = ("public_id", "filename", "sha256")
    readonly_fields = [
        f.name for f in File._meta.fields
    ]  # the blob key stays server-side; rows change via services

    def has_add_permission(self, request):
        return False


@admin.register(GeneratedImage)
class GeneratedImageAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "workspace",
        "source",
        "model",
        "size",
        "quality",
        "cost_units",
        "created_at",
    )
    list_filter = ("source", "model")
    search_fields = ("public_id", "request_id", "prompt")
    readonly_fields = [f.name for f in GeneratedImage._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ImageJob)
class ImageJobAdmin(admin.ModelAdmin):
    list_display = ("public_id", "workspace", "operation", "status", "created_at", "finished_at")
    list_filter = ("operation", "status")
    search_fields = ("public_id", "request_id")
    readonly_fields = [f.name for f in ImageJob._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(UpstreamFile)
class UpstreamFileAdmin(admin.ModelAdmin):
    list_display = ("file", "provider", "upstream_id", "created_at", "expires_at")
    list_filter = ("provider",)
    search_fields = ("file__public_id", "upstream_id")
    readonly_fields = [f.name for f in UpstreamFile._meta.fields]

    def has_add_permission(self, request):
        return False
