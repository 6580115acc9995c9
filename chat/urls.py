"""The chat app, mounted at /chat/ (namespace ``chat``)."""

from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("", views.chat_app, name="app"),
    path("c/<int:conversation_id>/", views.chat_app, name="conversation"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("api/conversations/", views.api_conversations, name="api-conversations"),
    path("api/conversations/<int:conversation_id>/", views.api_conversation, name="api-conversation"),
    path("api/conversations/<int:conversation_id>/reply/", views.api_reply, name="api-reply"),
    path("api/attachments/", views.api_attachments, name="api-attachments"),
    path("api/balance/", views.api_balance, name="api-balance"),
]
