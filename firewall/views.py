"""Console → Firewall: policies (list, editor, delete), the test box and the
audit log of policy changes. Owners and admins only. Writes go through
``firewall.services`` (which audits them); the test box is ``selectors.firewall_test``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from console.permissions import console_of, get_in_workspace_or_404, manager_required, user_of
from firewall import selectors, services
from firewall.engine.types import Scope
from firewall.forms import MATCHER_FIELDS, BaseRuleFormSet, PolicyForm, RuleFormSet, TestForm, editor_initial
from firewall.models import Policy
from firewall.rules import FirewallError

AUDIT_SHOWN = 50


def _workspace_id(request: HttpRequest) -> int:
    return console_of(request).workspace.pk


def _actor(request: HttpRequest) -> services.Actor:
    user = user_of(request)
    return services.Actor(label=user.get_username(), user=user)


def _page(request: HttpRequest, **extra: Any) -> HttpResponse:
    workspace_id = _workspace_id(request)
    policies = list(selectors.policy_list(workspace_id=workspace_id))
    context = {
        "policies": policies,
        "test_form": extra.pop("test_form", None) or TestForm(policies=policies),
        "audit": selectors.audit_list(workspace_id=workspace_id, limit=AUDIT_SHOWN),
        **extra,
    }
    return render(request, "console/firewall.html", context)


@manager_required
def firewall_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _editor(request: HttpRequest, policy: Policy | None) -> HttpResponse:
    if request.method == "POST":
        form = PolicyForm(request.POST)
        rules = RuleFormSet(request.POST, prefix="rule")
        if form.is_valid() and rules.is_valid():
            try:
                saved = _save(request, policy, form.cleaned_data, rules)
            except FirewallError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Saved “{saved.name}”. It applies to the next call.")
                return redirect("console:firewall")
    elif policy is not None:
        policy_initial, rule_initial = editor_initial(policy)
        form = PolicyForm(initial=policy_initial)
        rules = RuleFormSet(initial=rule_initial, prefix="rule")
    else:
        form = PolicyForm()
        rules = RuleFormSet(prefix="rule")
    context = {"policy": policy, "form": form, "rules": rules, "field_map": {"fwrule": MATCHER_FIELDS}}
    return render(request, "console/firewall_policy_form.html", context)


def _save(
    request: HttpRequest, policy: Policy | None, fields: dict[str, Any], rules: BaseRuleFormSet
) -> Policy:
    data = rules.rule_data()
    if policy is None:
        return services.policy_create(
            workspace=console_of(request).workspace,
            actor=_actor(request),
            rules=data,
            **fields,
        )
    changes = services.PolicyChanges(**fields, rules=data)
    return services.policy_update(policy=policy, actor=_actor(request), changes=changes)


@manager_required
def policy_new(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@manager_required
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, get_in_workspace_or_404(Policy.objects.prefetch_related("rules"), request, pk=pk))


@manager_required
@require_POST
def policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_in_workspace_or_404(Policy.objects.prefetch_related("rules"), request, pk=pk)
    services.policy_delete(policy=policy, actor=_actor(request))
    messages.success(request, f"Deleted “{policy.name}”.")
    return redirect("console:firewall")


@manager_required
@require_POST
def firewall_test(request: HttpRequest) -> HttpResponse:
    """The test box: matches, masked text and decision (an HTMX fragment; the page without HTMX)."""
    workspace_id = _workspace_id(request)
    policies = list(Policy.objects.filter(workspace_id=workspace_id))
    form = TestForm(request.POST, policies=policies)
    result = None
    if form.is_valid():
        policy_id = int(form.cleaned_data["policy"]) if form.cleaned_data["policy"] else None
        result = selectors.firewall_test(
            workspace_id=workspace_id,
            text=form.cleaned_data["text"],
            scope=Scope(form.cleaned_data["scope"]),
            policy_id=policy_id,
        )
    if request.headers.get("HX-Request"):
        return render(request, "console/_firewall_test.html", {"test_form": form, "result": result})
    return _page(request, test_form=form, result=result)
