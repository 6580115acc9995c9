"""The OpenAI-compatible surface, mounted at /v1/ and /api/v1/."""

from django.urls import path

from gateway import views

urlpatterns = [
    path("chat/completions", views.chat_completions),
    path("responses", views.create_response),
    path("embeddings", views.create_embeddings),
    path("models", views.list_models),
    path("models/<path:model_id>", views.retrieve_model),
]
