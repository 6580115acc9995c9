"""Firewall routes of the management API, under /api/manage/firewall/."""

from config.api_docs import api_route
from firewall import api

urlpatterns = [
    *api_route("policies", api.PolicyListView.as_view(), name="manage-firewall-policies"),
    *api_route("policies/<int:policy_id>", api.PolicyDetailView.as_view(), name="manage-firewall-policy"),
    *api_route("test", api.FirewallTestView.as_view(), name="manage-firewall-test"),
    *api_route("audit", api.AuditListView.as_view(), name="manage-firewall-audit"),
]
