"""Management API: routing rules, the routing preview, provider keys.

Everything is scoped to the caller's workspace (``request.workspace``); rows
of another workspace answer 404, exactly like rows that do not exist.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsWorkspaceMember, resolve_workspace
from config.api_input import StrictInput
from gateway.models import Provider
from routing_rules import selectors, services
from routing_rules.models import MatchMode, ProviderKey, RoutingRule
from routing_rules.preview import PreviewInputError, routing_preview
from routing_rules.router import RuleFormatError
from routing_rules.schema import ActionField, ConditionsField

# ------------------------------------------------------------------ rules


class RoutingRuleOutput(serializers.ModelSerializer):
    conditions = ConditionsField(read_only=True)
    action = ActionField(read_only=True)

    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "name",
            "description",
            "priority",
            "enabled",
            "match",
            "conditions",
            "action",
            "created_at",
            "updated_at",
        ]


class RoutingRuleInput(StrictInput):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.IntegerField(required=False, allow_null=True, default=None)
    enabled = serializers.BooleanField(required=False, default=True)
    match = serializers.ChoiceField(choices=MatchMode.values, required=False, default=MatchMode.ALL)
    # The stub allows only a mapping as a JSONField default; a list is valid JSON.
    conditions = ConditionsField(required=False, default=list)  # type: ignore[arg-type]
    action = ActionField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: RoutingRule | None = self.context.get("instance")
        conditions = attrs.get("conditions", instance.conditions if instance else [])
        action = attrs.get("action", instance.action if instance else None)
        match = attrs.get("match", instance.match if instance else MatchMode.ALL)
        try:
            services.routing_rule_validate(conditions=conditions, action=action, match=match)
        except RuleFormatError as exc:
            raise ValidationError({"rule": [str(exc)]}) from None
        return attrs


def _rule_or_404(request, pk: int) -> RoutingRule:
    rule = selectors.routing_rule_list(workspace_id=request.workspace.pk).filter(pk=pk).first()
    if rule is None:
        raise NotFound("No such routing rule.")
    return rule


class RoutingRuleListView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(responses=RoutingRuleOutput(many=True))
    def get(self, request):
        rules = selectors.routing_rule_list(workspace_id=request.workspace.pk)
        return Response(RoutingRuleOutput(rules, many=True).data)

    @extend_schema(request=RoutingRuleInput, responses={201: RoutingRuleOutput})
    def post(self, request):
        data = RoutingRuleInput(data=request.data)
        data.is_valid(raise_exception=True)
        created_by = request.user if getattr(request.user, "pk", None) else None
        rule = services.routing_rule_create(
            workspace=request.workspace, created_by=created_by, **data.validated_data
        )
        return Response(RoutingRuleOutput(rule).data, status=201)


class RoutingRuleDetailView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(responses=RoutingRuleOutput)
    def get(self, request, pk: int):
        return Response(RoutingRuleOutput(_rule_or_404(request, pk)).data)

    @extend_schema(request=RoutingRuleInput, responses=RoutingRuleOutput)
    def patch(self, request, pk: int):
        rule = _rule_or_404(request, pk)
        data = RoutingRuleInput(data=request.data, partial=True, context={"instance": rule})
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        if changes.get("priority", 0) is None:
            changes.pop("priority")
        rule = services.routing_rule_update(rule=rule, **changes)
        return Response(RoutingRuleOutput(rule).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        services.routing_rule_delete(rule=_rule_or_404(request, pk))
        return Response(status=204)


class RoutingRuleReorderView(APIView):
    permission_classes = [IsWorkspaceMember]

    class RoutingRuleReorderInput(StrictInput):
        order = serializers.ListField(child=serializers.IntegerField(), allow_empty=True)

    @extend_schema(request=RoutingRuleReorderInput, responses=RoutingRuleOutput(many=True))
    def post(self, request):
        data = self.RoutingRuleReorderInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            rules = services.routing_rules_reorder(
                workspace=request.workspace, rule_ids=data.validated_data["order"]
            )
        except services.RoutingRulesError as exc:
            raise ValidationError({"order": [str(exc)]}) from None
        return Response(RoutingRuleOutput(rules, many=True).data)


# ---------------------------------------------------------------- preview


class AnyMember(IsWorkspaceMember):
    """Any member of the workspace, for any method (the preview changes nothing)."""

    def has_permission(self, request, view) -> bool:
        return resolve_workspace(request)


class PreviewCandidate(serializers.Serializer):
    deployment_id = serializers.IntegerField()
    deployment = serializers.CharField()
    provider = serializers.CharField()
    model = serializers.CharField()
    upstream_model = serializers.CharField()
    key_source = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    scores = serializers.DictField(allow_null=True)


class PreviewOutput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["routed", "blocked", "error"])
    model = serializers.CharField(allow_null=True)
    routing_mode = serializers.CharField(allow_null=True)
    rule_id = serializers.IntegerField(allow_null=True)
    header = serializers.CharField()
    candidates = PreviewCandidate(many=True)
    rule_trace = serializers.ListField(child=serializers.DictField())
    trace = serializers.ListField(child=serializers.DictField())
    error = serializers.DictField(allow_null=True)


class RoutingPreviewView(APIView):
    """Route a sample request exactly as /v1 would, without calling any
    upstream or charging anything: the decision, scored candidates, the trace."""

    permission_classes = [AnyMember]

    class RoutingPreviewInput(StrictInput):
        request = serializers.DictField(help_text="A /v1 request body (chat completions by default).")
        endpoint = serializers.ChoiceField(
            choices=["chat.completions", "responses"], default="chat.completions"
        )
        api_key_prefix = serializers.CharField(required=False, allow_null=True, default=None)
        byok_providers = serializers.ListField(
            child=serializers.CharField(),
            required=False,
            default=list,
            help_text="Providers to treat as having an X-<Provider>-Key header.",
        )
        roll = serializers.FloatField(
            required=False,
            min_value=0,
            max_value=0.999999,
            default=0.0,
            help_text="The random draw for split rules, in [0, 1).",
        )

    @extend_schema(request=RoutingPreviewInput, responses=PreviewOutput)
    def post(self, request):
        data = self.RoutingPreviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        try:
            preview = routing_preview(
                workspace_id=request.workspace.pk,
                body=params["request"],
                endpoint=params["endpoint"],
                api_key_prefix=params["api_key_prefix"],
                byok_providers=params["byok_providers"],
                roll=params["roll"],
            )
        except PreviewInputError as exc:
            raise ValidationError({"request": [str(exc)]}) from None
        return Response(PreviewOutput(preview).data)


# ------------------------------------------------------------ provider keys


class ProviderKeyOutput(serializers.ModelSerializer):
    class Meta:
        model = ProviderKey
        fields = ["id", "provider", "label", "position", "hint", "enabled", "created_at", "rotated_at"]


def _key_or_404(request, pk: int) -> ProviderKey:
    key = selectors.provider_key_list(workspace_id=request.workspace.pk).filter(pk=pk).first()
    if key is None:
        raise NotFound("No such provider key.")
    return key


class ProviderKeyListView(APIView):
    permission_classes = [IsWorkspaceMember]

    class ProviderKeyCreateInput(StrictInput):
        provider = serializers.SlugField(max_length=64)
        api_key = serializers.CharField(max_length=4096, write_only=True, trim_whitespace=True)
        # DRF's metaclass moves declared fields off the class; the stub sees Field.label (a str).
        label = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")  # type: ignore[assignment]
        position = serializers.IntegerField(
            min_value=0, max_value=100, required=False, allow_null=True, default=None
        )

        def validate_provider(self, value: str) -> str:
            if not Provider.objects.filter(slug=value).exists():
                raise ValidationError(f"Unknown provider '{value}'.")
            return value

    @extend_schema(responses=ProviderKeyOutput(many=True))
    def get(self, request):
        return Response(
            ProviderKeyOutput(selectors.provider_key_list(workspace_id=request.workspace.pk), many=True).data
        )

    @extend_schema(request=ProviderKeyCreateInput, responses={201: ProviderKeyOutput})
    def post(self, request):
        data = self.ProviderKeyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        created_by = request.user if getattr(request.user, "pk", None) else None
        try:
            key = services.provider_key_create(
                workspace=request.workspace, created_by=created_by, **data.validated_data
            )
        except services.RoutingRulesError as exc:
            raise ValidationError({"api_key": [str(exc)]}) from None
        # Only the masked hint is ever returned, even now.
        return Response(ProviderKeyOutput(key).data, status=201)


class ProviderKeyDetailView(APIView):
    permission_classes = [IsWorkspaceMember]

    class ProviderKeyUpdateInput(StrictInput):
        # DRF's metaclass moves declared fields off the class; the stub sees Field.label (a str).
        label = serializers.CharField(max_length=200, required=False, allow_blank=True)  # type: ignore[assignment]
        position = serializers.IntegerField(min_value=0, max_value=100, required=False)
        enabled = serializers.BooleanField(required=False)

    @extend_schema(request=ProviderKeyUpdateInput, responses=ProviderKeyOutput)
    def patch(self, request, pk: int):
        key = _key_or_404(request, pk)
        data = self.ProviderKeyUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(ProviderKeyOutput(services.provider_key_update(key=key, **data.validated_data)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        services.provider_key_delete(key=_key_or_404(request, pk))
        return Response(status=204)
