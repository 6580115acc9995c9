"""Management API: firewall policies with their rules, a dry run, the audit trail.

Every view is scoped to ``request.workspace``; a policy id of another
workspace is answered 404, exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyUser
from accounts.permissions import IsWorkspaceMember, resolve_workspace
from config.api_input import StrictInput
from firewall import selectors, services
from firewall.engine.types import Action, Detector, MatcherKind, Scope
from firewall.models import AuditEntry, Policy, Rule
from firewall.rules import RuleData

_MATCHERS = [m.value for m in MatcherKind]
_ACTIONS = [a.value for a in Action]
_SCOPES = [s.value for s in Scope]
_DETECTORS = [d.value for d in Detector]


class RuleInput(StrictInput):
    name = serializers.CharField(max_length=200)
    enabled = serializers.BooleanField(default=True)
    order = serializers.IntegerField(default=0)
    matcher = serializers.ChoiceField(choices=_MATCHERS)
    pattern = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    ignore_case = serializers.BooleanField(default=False)
    detector = serializers.ChoiceField(choices=_DETECTORS, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=_SCOPES), min_length=1)
    action = serializers.ChoiceField(choices=_ACTIONS)
    # DRF's metaclass moves declared fields off the class; the stub sees Field.label (a str).
    label = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")  # type: ignore[assignment]


class RuleOutput(serializers.ModelSerializer):
    class Meta:
        model = Rule
        fields = [
            "id", "name", "enabled", "order", "matcher", "pattern", "ignore_case", "detector", "scopes",
            "action", "label", "created_at", "updated_at",
        ]  # fmt: skip


class PolicyOutput(serializers.ModelSerializer):
    rules = RuleOutput(many=True, read_only=True)

    class Meta:
        model = Policy
        fields = ["id", "name", "description", "enabled", "order", "rules", "created_at", "updated_at"]


class PolicyInput(StrictInput):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    enabled = serializers.BooleanField(default=True)
    order = serializers.IntegerField(default=0)
    rules = RuleInput(many=True, required=False, default=list)


def _rules(data: list[dict[str, Any]]) -> list[RuleData]:
    return [RuleData(**item) for item in data]


def _actor(request) -> services.Actor:
    user = request.user
    if isinstance(user, ApiKeyUser):
        return services.Actor(label=str(user))
    return services.Actor(label=user.get_username(), user=user)


def _policy(request, policy_id: int) -> Policy:
    policy = selectors.policy_get(workspace_id=request.workspace.pk, policy_id=policy_id)
    if policy is None:
        raise NotFound("No such firewall policy.")
    return policy


class PolicyListView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(responses=PolicyOutput(many=True))
    def get(self, request):
        return Response(
            PolicyOutput(selectors.policy_list(workspace_id=request.workspace.pk), many=True).data
        )

    @extend_schema(request=PolicyInput, responses={201: PolicyOutput})
    def post(self, request):
        data = PolicyInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        rules = _rules(fields.pop("rules"))
        policy = services.policy_create(
            workspace=request.workspace, actor=_actor(request), rules=rules, **fields
        )
        return Response(PolicyOutput(_policy(request, policy.pk)).data, status=201)


class PolicyDetailView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(responses=PolicyOutput)
    def get(self, request, policy_id: int):
        return Response(PolicyOutput(_policy(request, policy_id)).data)

    def _update(self, request, policy_id: int, *, partial: bool) -> Response:
        policy = _policy(request, policy_id)
        data = PolicyInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        raw_rules = fields.pop("rules", None) if partial else fields.pop("rules")
        changes = services.PolicyChanges(**fields, rules=_rules(raw_rules) if raw_rules is not None else None)
        services.policy_update(policy=policy, actor=_actor(request), changes=changes)
        return Response(PolicyOutput(_policy(request, policy_id)).data)

    @extend_schema(request=PolicyInput, responses=PolicyOutput)
    def put(self, request, policy_id: int):
        """Replace the policy, rules included."""
        return self._update(request, policy_id, partial=False)

    @extend_schema(request=PolicyInput, responses=PolicyOutput)
    def patch(self, request, policy_id: int):
        """Change some fields; ``rules``, when given, replaces every rule."""
        return self._update(request, policy_id, partial=True)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, policy_id: int):
        services.policy_delete(policy=_policy(request, policy_id), actor=_actor(request))
        return Response(status=204)


class IsAnyWorkspaceMember(permissions.BasePermission):
    """Any member, any method: for endpoints that change nothing (the dry run)."""

    message = "You are not a member of this workspace."

    def has_permission(self, request, view) -> bool:
        return resolve_workspace(request)


class HitOutput(serializers.Serializer):
    """One rule that applied: never the matched text."""

    rule_id = serializers.IntegerField()
    rule = serializers.CharField()
    policy_id = serializers.IntegerField(allow_null=True)
    scope = serializers.CharField()
    action = serializers.CharField()
    count = serializers.IntegerField()


class FirewallTestView(APIView):
    """Run a policy (or the workspace's enabled policies, or unsaved rules)
    against sample text. No model is called and nothing is stored."""

    permission_classes = [IsAnyWorkspaceMember]

    class Input(StrictInput):
        text = serializers.CharField(max_length=200_000, trim_whitespace=False)
        scope = serializers.ChoiceField(choices=_SCOPES, default=Scope.PROMPT.value)
        policy_id = serializers.IntegerField(required=False)
        rules = RuleInput(many=True, required=False)

        class Meta:
            ref_name = "FirewallTestInput"

    class Output(serializers.Serializer):
        scope = serializers.CharField()
        blocked = serializers.BooleanField()
        blocked_by = serializers.CharField(allow_null=True)
        hits = HitOutput(many=True)
        masked_text = serializers.CharField(allow_null=True)

        class Meta:
            ref_name = "FirewallTestOutput"

    @extend_schema(request=Input, responses=Output)
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        policy_id = None
        if "policy_id" in values and "rules" not in values:
            policy_id = _policy(request, values["policy_id"]).pk
        result = selectors.firewall_test(
            workspace_id=request.workspace.pk,
            text=values["text"],
            scope=Scope(values["scope"]),
            policy_id=policy_id,
            rules=_rules(values["rules"]) if "rules" in values else None,
        )
        out = {
            "scope": result.scope,
            "blocked": result.blocked,
            "blocked_by": result.blocked_by,
            "hits": result.hits,
            "masked_text": result.masked_text,
        }
        return Response(self.Output(out).data)


class AuditOutput(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "actor_label", "action", "policy_id", "policy_name", "before", "after", "created_at"]


class AuditListView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(responses=AuditOutput(many=True))
    def get(self, request):
        return Response(AuditOutput(selectors.audit_list(workspace_id=request.workspace.pk), many=True).data)
