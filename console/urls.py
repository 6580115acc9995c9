"""The console, mounted at /console/ (namespace ``console``).

Adding a page: write the view in its app's ``views.py`` (wrapped in a decorator
from ``console.permissions``), add a ``path(...)`` here (or ``include(...)`` the
app's own url module), and give its index the ``name`` its sidebar entry in
``console/nav.py`` expects. See docs/console.md.
"""

from django.urls import path

from accounts import key_views
from accounts import views as account_views
from billing import views as billing_views
from console import views
from files import console_views as files_views
from files import image_console
from firewall import views as firewall_views
from gateway import console_views as gateway_console
from gateway.catalog import views as catalog_views
from routing_rules import provider_key_views
from routing_rules import views as routing_views

app_name = "console"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("switch/", views.switch_workspace, name="switch-workspace"),
    path("no-workspace/", views.no_workspace, name="no-workspace"),
    path("api-keys/", key_views.api_keys, name="api-keys"),
    path("api-keys/new/", key_views.api_key_new, name="api-key-new"),
    path("api-keys/<str:prefix>/revoke/", key_views.api_key_revoke_view, name="api-key-revoke"),
    path("members/", account_views.members, name="members"),
    path("members/invite/", account_views.member_invite, name="member-invite"),
    path("members/<int:pk>/role/", account_views.member_role, name="member-role"),
    path("members/<int:pk>/remove/", account_views.member_remove, name="member-remove"),
    path(
        "members/invitations/<int:pk>/revoke/",
        account_views.invitation_revoke_view,
        name="invitation-revoke",
    ),
    path("settings/", account_views.workspace_settings, name="settings"),
    path("models/", catalog_views.models_page, name="models"),
    path("files/", files_views.files_page, name="files"),
    path("files/<str:file_id>/download/", files_views.file_download, name="file-download"),
    path("files/<str:file_id>/delete/", files_views.file_delete, name="file-delete"),
    path("billing/", billing_views.billing, name="billing"),
    path("billing/top-up/", billing_views.billing_topup, name="billing-topup"),
    path("billing/plan/", billing_views.billing_plan, name="billing-plan"),
    path("provider-keys/", provider_key_views.provider_keys, name="provider-keys"),
    path(
        "provider-keys/<int:pk>/primary/",
        provider_key_views.provider_key_primary,
        name="provider-key-primary",
    ),
    path(
        "provider-keys/<int:pk>/toggle/", provider_key_views.provider_key_toggle, name="provider-key-toggle"
    ),
    path(
        "provider-keys/<int:pk>/delete/", provider_key_views.provider_key_remove, name="provider-key-delete"
    ),
    path("provider-keys/<int:pk>/test/", provider_key_views.provider_key_test, name="provider-key-test"),
    # Pages of the other apps (console-ops): logs/, routing-rules/, firewall/.
    path("logs/", gateway_console.logs, name="logs"),
    path("images/", image_console.images, name="images"),
    path("logs/<str:request_id>/", gateway_console.log_detail, name="log-detail"),
    path("routing-rules/", routing_views.rule_list, name="routing-rules"),
    path("routing-rules/new/", routing_views.rule_new, name="routing-rule-new"),
    path("routing-rules/preview/", routing_views.rule_preview, name="routing-preview"),
    path("routing-rules/<int:pk>/", routing_views.rule_edit, name="routing-rule-edit"),
    path("routing-rules/<int:pk>/toggle/", routing_views.rule_toggle, name="routing-rule-toggle"),
    path("routing-rules/<int:pk>/move/", routing_views.rule_move, name="routing-rule-move"),
    path("routing-rules/<int:pk>/delete/", routing_views.rule_delete, name="routing-rule-delete"),
    path("firewall/", firewall_views.firewall_page, name="firewall"),
    path("firewall/new/", firewall_views.policy_new, name="firewall-policy-new"),
    path("firewall/test/", firewall_views.firewall_test, name="firewall-test"),
    path("firewall/<int:pk>/", firewall_views.policy_edit, name="firewall-policy-edit"),
    path("firewall/<int:pk>/delete/", firewall_views.policy_delete, name="firewall-policy-delete"),
]
