"""Management API: the workspace and its API keys."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey, KeyScope
from accounts.permissions import IsWorkspaceMember
from accounts.services import api_key_create, api_key_revoke
from config.api_input import StrictInput


class ApiKeyOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["prefix", "name", "scope", "created_at", "expires_at", "revoked_at", "last_used_at"]


class ApiKeyCreatedOutput(ApiKeyOutput):
    secret = serializers.CharField(help_text="Shown this once, never again.")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "secret"]


class WorkspaceView(APIView):
    permission_classes = [IsWorkspaceMember]

    class WorkspaceOutput(serializers.Serializer):
        slug = serializers.CharField()
        name = serializers.CharField()
        role = serializers.CharField()

    @extend_schema(responses=WorkspaceOutput)
    def get(self, request):
        ws = request.workspace
        return Response(
            self.WorkspaceOutput({"slug": ws.slug, "name": ws.name, "role": request.workspace_role}).data
        )


class ApiKeyListView(APIView):
    permission_classes = [IsWorkspaceMember]

    class ApiKeyCreateInput(StrictInput):
        name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        scope = serializers.ChoiceField(choices=KeyScope.values, default=KeyScope.INFERENCE)
        expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(responses=ApiKeyOutput(many=True))
    def get(self, request):
        keys = ApiKey.objects.filter(workspace=request.workspace).order_by("-created_at")
        return Response(ApiKeyOutput(keys, many=True).data)

    @extend_schema(request=ApiKeyCreateInput, responses={201: ApiKeyCreatedOutput})
    def post(self, request):
        data = self.ApiKeyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        created_by = request.user if getattr(request.user, "pk", None) else None
        key, secret = api_key_create(
            workspace=request.workspace, created_by=created_by, **data.validated_data
        )
        # The only time the secret is ever returned.
        return Response({**ApiKeyOutput(key).data, "secret": secret}, status=201)


class ApiKeyRevokeView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(request=None, responses=ApiKeyOutput)
    def post(self, request, prefix: str):
        key = ApiKey.objects.filter(workspace=request.workspace, prefix=prefix).first()
        if key is None:
            return Response({"error": {"type": "not_found_error", "message": "No such key."}}, status=404)
        return Response(ApiKeyOutput(api_key_revoke(key=key)).data)
