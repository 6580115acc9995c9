"""Management API: request logs (filtered, keyset-paginated) and one log by request_id.

Scoped to ``request.workspace``; another workspace's request_id answers 404,
exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsWorkspaceMember
from gateway import selectors
from gateway.models import RequestLog


class LogFilterInput(serializers.Serializer):
    """The query string of a log listing (the console's Logs page uses the same names)."""

    since = serializers.DateTimeField(required=False, help_text="Inclusive, ISO 8601.")
    until = serializers.DateTimeField(required=False, help_text="Exclusive, ISO 8601.")
    key = serializers.CharField(required=False, help_text="An API key's prefix (jk_…).")
    model = serializers.CharField(required=False)
    provider = serializers.CharField(required=False)
    status = serializers.CharField(required=False, help_text="A code (429), a class (4xx) or 'error'.")
    error_type = serializers.CharField(required=False)
    stream = serializers.BooleanField(required=False, allow_null=True, default=None)
    metadata_key = serializers.CharField(required=False)
    metadata_value = serializers.CharField(required=False, help_text="Needs metadata_key.")
    request_id = serializers.CharField(required=False)
    cursor = serializers.CharField(required=False, help_text="next_cursor of the previous page.")
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=selectors.MAX_PAGE_SIZE, default=selectors.DEFAULT_PAGE_SIZE
    )

    def validate_status(self, value: str) -> selectors.StatusFilter:
        try:
            return selectors.StatusFilter.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("metadata_value") is not None and not attrs.get("metadata_key"):
            raise ValidationError({"metadata_value": ["Give metadata_key with metadata_value."]})
        return attrs

    def filters(self) -> selectors.LogFilters:
        v = self.validated_data
        return selectors.LogFilters(
            since=v.get("since"),
            until=v.get("until"),
            api_key_prefix=v.get("key"),
            model=v.get("model"),
            provider=v.get("provider"),
            status=v.get("status"),
            error_type=v.get("error_type"),
            stream=v.get("stream"),
            metadata_key=v.get("metadata_key"),
            metadata_value=v.get("metadata_value"),
            request_id=v.get("request_id"),
        )


class RequestLogRowOutput(serializers.ModelSerializer):
    key = serializers.SerializerMethodField()

    class Meta:
        model = RequestLog
        fields = [
            "request_id", "created_at", "key", "endpoint", "model_requested", "model_used", "provider",
            "status_code", "error_type", "stream", "input_tokens", "output_tokens", "charged_units",
            "latency_ms", "ttfb_ms",
        ]  # fmt: skip

    def get_key(self, row: RequestLog) -> str | None:
        return self.context.get("prefixes", {}).get(row.api_key_id)


class RequestLogPageOutput(serializers.Serializer):
    object = serializers.CharField(default="list")
    # A wire field named like a Serializer attribute; DRF's metaclass moves it off the class.
    data = RequestLogRowOutput(many=True)  # type: ignore[assignment]
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True)


class RequestLogDetailOutput(serializers.ModelSerializer):
    key = serializers.SerializerMethodField()

    class Meta:
        model = RequestLog
        fields = [
            "request_id", "created_at", "key", "endpoint", "method", "model_requested", "model_used",
            "provider", "status_code", "error_type", "error_message", "stream", "input_tokens",
            "cached_input_tokens", "output_tokens", "reasoning_tokens", "cost_units", "charged_units",
            "cost_estimated", "ttfb_ms", "latency_ms", "metadata", "user", "client_ip", "user_agent",
            "extra",
        ]  # fmt: skip

    def get_key(self, row: RequestLog) -> str | None:
        return self.context.get("prefixes", {}).get(row.api_key_id)


def page_context(workspace_id: int, rows: list[RequestLog]) -> dict[str, Any]:
    keys = {r.api_key_id for r in rows if r.api_key_id}
    return {"prefixes": selectors.api_key_prefixes(workspace_id=workspace_id, key_ids=keys)}


class RequestLogListView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(operation_id="logs_list", parameters=[LogFilterInput], responses=RequestLogPageOutput)
    def get(self, request):
        params = LogFilterInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        workspace_id = request.workspace.pk
        try:
            page = selectors.request_log_page(
                workspace_id=workspace_id,
                filters=params.filters(),
                cursor=params.validated_data.get("cursor"),
                limit=params.validated_data["limit"],
            )
        except selectors.CursorError as exc:
            raise ValidationError({"cursor": [str(exc)]}) from None
        out = {
            "object": "list",
            "data": page.rows,
            "has_more": page.has_more,
            "next_cursor": page.next_cursor,
        }
        return Response(RequestLogPageOutput(out, context=page_context(workspace_id, page.rows)).data)


class RequestLogDetailView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(operation_id="logs_get", responses=RequestLogDetailOutput)
    def get(self, request, request_id: str):
        row = selectors.request_log_get(workspace_id=request.workspace.pk, request_id=request_id)
        if row is None:
            raise NotFound("No such request in this workspace.")
        context = page_context(request.workspace.pk, [row])
        return Response(RequestLogDetailOutput(row, context=context).data)
