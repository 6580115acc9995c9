from django.contrib import admin

from files.models import File


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
