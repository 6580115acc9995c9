"""Console pages that belong to no single app: the overview and the switcher."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from billing.usage import usage_by_day, usage_totals
from console.charts import stacked_bars
from console.permissions import choose_workspace, console_of, member_required, resolve_console
from console.templatetags.console import compact, usd


def landing(request: HttpRequest) -> HttpResponse:
    """``/``: the console for a signed-in person, else a short landing page."""
    if request.user.is_authenticated:
        return redirect("console:overview")
    base_url = request.build_absolute_uri("/v1")
    return render(request, "landing.html", {"base_url": base_url})


CHART_DAYS = 30


@member_required
def overview(request: HttpRequest) -> HttpResponse:
    """This month's totals and the last 30 days per model or per key, from
    the daily usage rollups."""
    workspace_id = console_of(request).workspace.pk
    by = "key" if request.GET.get("by") == "key" else "model"
    today = timezone.now().date()
    until = today + timedelta(days=1)
    month = usage_totals(workspace_id=workspace_id, since=today.replace(day=1), until=until)
    daily = usage_by_day(
        workspace_id=workspace_id, since=until - timedelta(days=CHART_DAYS), until=until, by=by
    )
    what = "key" if by == "key" else "model"
    context = {
        "month": month,
        "by": by,
        "spend_chart": stacked_bars(
            title=f"Spend per day by {what}",
            days=daily.days,
            series=[(s.label, s.spend_units) for s in daily.series],
            fmt=usd,
        ),
        "requests_chart": stacked_bars(
            title=f"Requests per day by {what}",
            days=daily.days,
            series=[(s.label, s.requests) for s in daily.series],
            fmt=compact,
        ),
    }
    return render(request, "console/overview.html", context)


@login_required
@require_POST
def switch_workspace(request: HttpRequest) -> HttpResponse:
    try:
        workspace_id = int(request.POST.get("workspace", ""))
    except ValueError:
        workspace_id = 0
    if not choose_workspace(request, workspace_id=workspace_id):
        messages.error(request, "You are not a member of that workspace.")
    # Back to the same section (an object of the old workspace would be a 404).
    target = request.POST.get("next", "")
    if not target.startswith("/console/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        target = ""
    return redirect(target or "console:overview")


@login_required
def no_workspace(request: HttpRequest) -> HttpResponse:
    if resolve_console(request) is not None:
        return redirect("console:overview")
    return render(request, "console/no_workspace.html")
