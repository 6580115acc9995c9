from django.contrib import admin

from chat.models import Conversation, Message


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("role", "status", "model", "request_id", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("title", "workspace", "user", "model", "updated_at")
    list_select_related = ("workspace", "user")
    search_fields = ("title", "workspace__slug", "user__email")
    readonly_fields = ("workspace", "user", "created_at", "updated_at")
    inlines = [MessageInline]
