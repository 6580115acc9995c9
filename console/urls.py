"""The console, mounted at /console/ (namespace ``console``).

Adding a page: write the view in its app's ``views.py`` (wrapped in a decorator
from ``console.permissions``), add a ``path(...)`` here (or ``include(...)`` the
app's own url module), and give its index the ``name`` its sidebar entry in
``console/nav.py`` expects. See docs/console.md.
"""

from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("switch/", views.switch_workspace, name="switch-workspace"),
    path("no-workspace/", views.no_workspace, name="no-workspace"),
    # Pages of the other apps (console-ops): logs/, routing-rules/, firewall/.
]
