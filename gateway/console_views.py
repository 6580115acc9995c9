"""Console pages of the gateway: Logs (filters, keyset pages, live tail) and
one request's detail. Any member of the workspace may read them."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from accounts.models import ApiKey
from console.permissions import console_of, member_required
from gateway import selectors
from gateway.forms import STATUS_CHOICES, LogFilterForm
from gateway.selectors import CursorError


@member_required
def logs(request: HttpRequest) -> HttpResponse:
    workspace = console_of(request).workspace
    keys = list(
        ApiKey.objects.filter(workspace=workspace).order_by("-created_at").values_list("pk", "prefix", "name")
    )
    form = LogFilterForm(
        request.GET or None,
        key_prefixes=[(prefix, f"{name or prefix} ({prefix}…)") for _, prefix, name in keys],
    )
    page = None
    cursor = request.GET.get("cursor") or None
    if form.is_bound and not form.is_valid():
        filters = None
    else:
        filters = form.filters() if form.is_bound else selectors.LogFilters()
        try:
            page = selectors.request_log_page(workspace_id=workspace.pk, filters=filters, cursor=cursor)
        except CursorError:
            page = selectors.request_log_page(workspace_id=workspace.pk, filters=filters)
            cursor = None
    # The workspace's keys are all loaded for the filter: they name the rows too.
    key_of: dict[int | None, tuple[str | None, str | None]] = {
        pk: (prefix, name) for pk, prefix, name in keys
    }
    rows = [(row, *key_of.get(row.api_key_id, (None, None))) for row in page.rows] if page else []
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        "console/logs.html",
        {
            "form": form,
            "rows": rows,
            "page": page,
            "is_first_page": cursor is None,
            "filtered": bool(filters is not None and not filters.is_empty()),
            "filter_query": query.urlencode(),
            "status_choices": STATUS_CHOICES[1:],
            "detail_base": reverse("console:logs"),  # + request_id + "/" per row: no reverse() per row
        },
    )


@member_required
def log_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    workspace = console_of(request).workspace
    row = selectors.request_log_get(workspace_id=workspace.pk, request_id=request_id)
    if row is None:
        raise Http404("No such request in this workspace.")
    prefix = selectors.api_key_prefixes(
        workspace_id=workspace.pk, key_ids={row.api_key_id} if row.api_key_id else set()
    )
    extra = row.extra or {}
    return render(
        request,
        "console/log_detail.html",
        {
            "row": row,
            "key_prefix": prefix.get(row.api_key_id) if row.api_key_id else None,
            "rule_trace": extra.get("rule_trace") or [],
            "route_trace": extra.get("route") or [],
            "attempts": extra.get("attempts") or [],
            "firewall": extra.get("firewall") or [],
            "other_extra": {
                k: v for k, v in extra.items() if k not in {"rule_trace", "route", "attempts", "firewall"}
            },
        },
    )
