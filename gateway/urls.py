"""The OpenAI-compatible surface, mounted at /v1/ and /api/v1/."""

from django.urls import path

from files import v1 as files_v1
from gateway import images_views, views

urlpatterns = [
    path("chat/completions", views.chat_completions),
    path("responses", views.create_response),
    path("messages", views.create_message),
    path("messages/count_tokens", views.count_message_tokens),
    path("embeddings", views.create_embeddings),
    path("models", views.list_models),
    path("credits", views.credits),
    path("models/<path:model_id>", views.retrieve_model),
    path("images/generations", images_views.generations),
    path("images/edits", images_views.edits),
    path("images/jobs/<str:job_id>", images_views.job_detail),
    path("files", files_v1.files_root),
    path("files/<str:file_id>", files_v1.file_detail),
    path("files/<str:file_id>/content", files_v1.file_content),
    path("files/<str:file_id>/url", files_v1.file_url),
    path("files/<str:file_id>/blob", files_v1.file_blob),
]
