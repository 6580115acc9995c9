"""The OpenAI-compatible surface, mounted at /v1/ and /api/v1/."""

from django.urls import path

from gateway import views

urlpatterns = [
    path("chat/completions", views.chat_completions),
    path("responses", views.create_response),
    path("messages", views.create_message),
    path("messages/count_tokens", views.count_message_tokens),
    path("embeddings", views.create_embeddings),
    path("models", views.list_models),
    path("credits", views.credits),
    path("models/<path:model_id>", views.retrieve_model),
]
