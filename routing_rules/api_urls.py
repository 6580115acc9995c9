"""Routing routes of the management API (included from accounts/api_urls.py)."""

from config.api_docs import api_route
from routing_rules import api

urlpatterns = [
    *api_route("routing-rules", api.RoutingRuleListView.as_view(), name="manage-routing-rules"),
    *api_route(
        "routing-rules/reorder", api.RoutingRuleReorderView.as_view(), name="manage-routing-rules-reorder"
    ),
    *api_route("routing-rules/<int:pk>", api.RoutingRuleDetailView.as_view(), name="manage-routing-rule"),
    *api_route("routing/preview", api.RoutingPreviewView.as_view(), name="manage-routing-preview"),
    *api_route("provider-keys", api.ProviderKeyListView.as_view(), name="manage-provider-keys"),
    *api_route("provider-keys/<int:pk>", api.ProviderKeyDetailView.as_view(), name="manage-provider-key"),
]
