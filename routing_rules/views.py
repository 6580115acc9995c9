"""Console → Routing rules: the list in evaluation order, the editor (forms per
condition and action type), enable/disable, reorder, delete, and the Preview
decision drawer. Owners and admins only. Every write goes through
``routing_rules.services``; the preview is ``routing_rules.preview``."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Workspace
from console.permissions import console_of, get_in_workspace_or_404, manager_required
from routing_rules import selectors, services
from routing_rules.forms import ActionForm, ConditionFormSet, PreviewForm, RuleForm, editor_initial
from routing_rules.models import RoutingRule
from routing_rules.preview import PreviewInputError, routing_preview
from routing_rules.router import RuleFormatError
from routing_rules.router.rules import ActionType
from routing_rules.schema import CONDITION_FIELDS

# Which inputs each condition and action type takes (the editor hides the others).
FIELD_MAP = {
    "condition": {str(t): sorted(props) for t, (props, _) in CONDITION_FIELDS.items()},
    "action": {
        str(ActionType.ROUTE): ["model", "fallbacks"],
        str(ActionType.FALLBACKS): ["fallbacks"],
        str(ActionType.SPLIT): ["targets"],
        str(ActionType.BLOCK): ["message"],
    },
}


def _workspace(request: HttpRequest) -> Workspace:
    return console_of(request).workspace


@manager_required
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = list(selectors.routing_rule_list(workspace_id=_workspace(request).pk))
    return render(request, "console/routing_rules.html", {"rules": rules, "preview_form": PreviewForm()})


def _editor(request: HttpRequest, rule: RoutingRule | None) -> HttpResponse:
    if request.method == "POST":
        rule_form = RuleForm(request.POST)
        conditions = ConditionFormSet(request.POST, prefix="cond")
        action = ActionForm(request.POST, prefix="action")
        if rule_form.is_valid() and conditions.is_valid() and action.is_valid():
            try:
                saved = _save(request, rule, rule_form.cleaned_data, conditions, action)
            except forms.ValidationError as exc:
                rule_form.add_error(None, "; ".join(exc.messages))
            except (RuleFormatError, services.RoutingRulesError) as exc:
                rule_form.add_error(None, str(exc))
            else:
                messages.success(request, f"Saved “{saved.name}”. It applies to the next call.")
                return redirect("console:routing-rules")
    elif rule is not None:
        rule_initial, condition_initial, action_initial = editor_initial(rule)
        rule_form = RuleForm(initial=rule_initial)
        conditions = ConditionFormSet(initial=condition_initial, prefix="cond")
        action = ActionForm(initial=action_initial, prefix="action")
    else:
        rule_form = RuleForm()
        conditions = ConditionFormSet(prefix="cond")
        action = ActionForm(prefix="action")
    context: dict[str, Any] = {
        "field_map": FIELD_MAP,
        "rule": rule,
        "rule_form": rule_form,
        "conditions": conditions,
        "action": action,
        "rule_json": json.dumps(
            {"match": rule.match, "conditions": rule.conditions, "action": rule.action}, indent=2
        )
        if rule
        else "",
    }
    return render(request, "console/routing_rule_form.html", context)


def _save(
    request: HttpRequest, rule: RoutingRule | None, fields: dict[str, Any], conditions, action
) -> RoutingRule:
    data = {**fields, "conditions": conditions.to_json(), "action": action.to_json()}
    if rule is None:
        return services.routing_rule_create(workspace=_workspace(request), created_by=request.user, **data)
    return services.routing_rule_update(rule=rule, **data)


@manager_required
def rule_new(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@manager_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, get_in_workspace_or_404(RoutingRule.objects.all(), request, pk=pk))


@manager_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_in_workspace_or_404(RoutingRule.objects.all(), request, pk=pk)
    services.routing_rule_update(rule=rule, enabled=not rule.enabled)
    messages.success(request, f"“{rule.name}” is {'enabled' if rule.enabled else 'disabled'}.")
    return redirect("console:routing-rules")


@manager_required
@require_POST
def rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Swap a rule with its neighbour above (``direction=up``) or below."""
    rule = get_in_workspace_or_404(RoutingRule.objects.all(), request, pk=pk)
    order = list(selectors.routing_rule_list(workspace_id=rule.workspace_id).values_list("pk", flat=True))
    i = order.index(rule.pk)
    j = i - 1 if request.POST.get("direction") == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        services.routing_rules_reorder(workspace=_workspace(request), rule_ids=order)
    return redirect("console:routing-rules")


@manager_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_in_workspace_or_404(RoutingRule.objects.all(), request, pk=pk)
    services.routing_rule_delete(rule=rule)
    messages.success(request, f"Deleted “{rule.name}”.")
    return redirect("console:routing-rules")


@manager_required
@require_POST
def rule_preview(request: HttpRequest) -> HttpResponse:
    """The Preview decision drawer's result (an HTMX fragment; the whole page without HTMX)."""
    form = PreviewForm(request.POST)
    preview = None
    if form.is_valid():
        try:
            preview = routing_preview(
                workspace_id=_workspace(request).pk,
                body=form.request_body(),
                api_key_prefix=form.cleaned_data["api_key_prefix"] or None,
            )
        except PreviewInputError as exc:
            form.add_error(None, str(exc))
    context = {"preview_form": form, "preview": preview}
    if request.headers.get("HX-Request"):
        return render(request, "console/_routing_preview.html", context)
    rules = list(selectors.routing_rule_list(workspace_id=_workspace(request).pk))
    return render(request, "console/routing_rules.html", {**context, "rules": rules, "preview_open": True})
