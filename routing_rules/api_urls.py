"""Routing routes of the management API (included from accounts/api_urls.py)."""

from django.urls import path

from routing_rules import api

urlpatterns = [
    path("routing-rules/", api.RoutingRuleListView.as_view(), name="manage-routing-rules"),
    path("routing-rules/reorder", api.RoutingRuleReorderView.as_view(), name="manage-routing-rules-reorder"),
    path("routing-rules/<int:pk>", api.RoutingRuleDetailView.as_view(), name="manage-routing-rule"),
    path("routing/preview", api.RoutingPreviewView.as_view(), name="manage-routing-preview"),
    path("provider-keys/", api.ProviderKeyListView.as_view(), name="manage-provider-keys"),
    path("provider-keys/<int:pk>", api.ProviderKeyDetailView.as_view(), name="manage-provider-key"),
]
