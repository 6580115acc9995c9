"""The management API root (/api/manage/). Each app adds its own routes here.
Every route answers with and without a trailing slash (``api_route``)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts import api
from billing import api as billing_api
from config.api_docs import api_docs, api_route
from gateway import api as gateway_api

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="manage-schema"),
    path("schema/", SpectacularAPIView.as_view()),
    *api_route("docs", api_docs, name="manage-docs"),
    *api_route("workspace", api.WorkspaceView.as_view(), name="manage-workspace"),
    *api_route("keys", api.ApiKeyListView.as_view(), name="manage-keys"),
    *api_route("keys/<str:prefix>/revoke", api.ApiKeyRevokeView.as_view(), name="manage-key-revoke"),
    *api_route("keys/<str:prefix>/limits", billing_api.KeyLimitsView.as_view(), name="manage-key-limits"),
    *api_route("billing/credits", billing_api.CreditsView.as_view(), name="manage-billing-credits"),
    *api_route("billing/ledger", billing_api.LedgerView.as_view(), name="manage-billing-ledger"),
    *api_route("billing/checkout", billing_api.CheckoutView.as_view(), name="manage-billing-checkout"),
    *api_route("usage", billing_api.UsageView.as_view(), name="manage-usage"),
    *api_route("logs", gateway_api.RequestLogListView.as_view(), name="manage-logs"),
    *api_route("logs/<str:request_id>", gateway_api.RequestLogDetailView.as_view(), name="manage-log"),
    path("", include("routing_rules.api_urls")),
    path("firewall/", include("firewall.api_urls")),
]
