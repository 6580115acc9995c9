"""The management API root (/api/manage/). Each app adds its own routes here."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts import api

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="manage-schema"),
    path("workspace", api.WorkspaceView.as_view(), name="manage-workspace"),
    path("keys", api.ApiKeyListView.as_view(), name="manage-keys"),
    path("keys/<str:prefix>/revoke", api.ApiKeyRevokeView.as_view(), name="manage-key-revoke"),
    path("", include("routing_rules.api_urls")),
    path("firewall/", include("firewall.api_urls")),
]
