"""The console's sidebar: one entry per page, in order.

An entry names its URL (in the ``console`` namespace) and whether only owners
and admins see it. An entry whose URL is not registered yet is left out, so a
page appears in the sidebar as soon as its ``path(...)`` lands in
``console/urls.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    url_name: str
    manager_only: bool = False


@dataclass(frozen=True, slots=True)
class NavLink:
    label: str
    url: str
    active: bool


NAV: tuple[NavItem, ...] = (
    NavItem("Overview", "console:overview"),
    NavItem("API keys", "console:api-keys"),
    NavItem("Provider keys", "console:provider-keys", manager_only=True),
    NavItem("Models", "console:models"),
    NavItem("Files", "console:files"),
    NavItem("Routing rules", "console:routing-rules", manager_only=True),
    NavItem("Firewall", "console:firewall", manager_only=True),
    NavItem("Logs", "console:logs"),
    NavItem("Images", "console:images"),
    NavItem("Billing", "console:billing", manager_only=True),
    NavItem("Members", "console:members", manager_only=True),
    NavItem("Settings", "console:settings", manager_only=True),
    NavItem("Chat", "chat:app"),  # the chat app, paid from the same balance
)


def nav_links(*, path: str, is_manager: bool) -> list[NavLink]:
    links = []
    overview = reverse("console:overview")
    for item in NAV:
        if item.manager_only and not is_manager:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        active = path == url if url == overview else path.startswith(url)
        links.append(NavLink(item.label, url, active))
    return links
