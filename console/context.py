"""Template context for console pages: the sidebar, the workspace switcher and
the balance. Empty outside the console (``request.console`` is set by the
decorators in ``console.permissions``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from billing.selectors import workspace_balance
from console.nav import nav_links


def console(request: HttpRequest) -> dict[str, Any]:
    ctx = getattr(request, "console", None)
    if ctx is None:
        return {}
    nav = nav_links(path=request.path, is_manager=ctx.is_manager)
    return {
        "console": ctx,
        "nav": nav,
        "section_url": next((link.url for link in nav if link.active), ""),
        "balance": workspace_balance(workspace_id=ctx.workspace.pk),
    }
