"""Firewall routes of the management API, under /api/manage/firewall/."""

from django.urls import path

from firewall import api

urlpatterns = [
    path("policies/", api.PolicyListView.as_view(), name="manage-firewall-policies"),
    path("policies/<int:policy_id>/", api.PolicyDetailView.as_view(), name="manage-firewall-policy"),
    path("test", api.FirewallTestView.as_view(), name="manage-firewall-test"),
    path("audit", api.AuditListView.as_view(), name="manage-firewall-audit"),
]
