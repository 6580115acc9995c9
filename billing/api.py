"""Management API: the workspace's credits, ledger, checkout links and key limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.permissions import IsWorkspaceMember
from billing.models import LedgerEntry, SpendPeriod
from billing.selectors import USAGE_GROUPS, ledger_page, usage_summary, workspace_balance, workspace_plan
from billing.services.limits import key_limits_set
from billing.services.payments import checkout_subscription_create, checkout_topup_create
from config.api_input import INT64_MAX, StrictInput


class BalanceOutput(serializers.Serializer):
    """The one balance shape (``Balance.wire``), shared with ``/v1/credits``."""

    object = serializers.CharField(default="credits")
    workspace = serializers.CharField()
    currency = serializers.CharField(default="USD")
    balance = serializers.FloatField(help_text="USD, display only; balance_units is exact.")
    reserved = serializers.FloatField()
    available = serializers.FloatField()
    credits = serializers.FloatField()
    balance_units = serializers.IntegerField(help_text="1 unit = $0.0001.")
    reserved_units = serializers.IntegerField()
    available_units = serializers.IntegerField()


class CreditsView(APIView):
    permission_classes = [IsWorkspaceMember]

    class CreditsOutput(BalanceOutput):
        plan = serializers.CharField(allow_null=True)
        plan_status = serializers.CharField()

    @extend_schema(responses=CreditsOutput)
    def get(self, request):
        balance = workspace_balance(workspace_id=request.workspace.pk)
        plan, status = workspace_plan(workspace_id=request.workspace.pk)
        body = {
            "object": "credits",
            "workspace": request.workspace.slug,
            **balance.wire(),
            "plan": plan,
            "plan_status": status,
        }
        return Response(self.CreditsOutput(body).data)


class LedgerEntryOutput(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None)

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "kind",
            "amount_units",
            "request_id",
            "stripe_object_id",
            "reason",
            "created_by",
            "created_at",
        ]


class LedgerPageOutput(serializers.Serializer):
    object = serializers.CharField(default="list")
    # A wire field named like a Serializer attribute; DRF's metaclass moves it off the class.
    data = LedgerEntryOutput(many=True)  # type: ignore[assignment]
    has_more = serializers.BooleanField()
    next_cursor = serializers.IntegerField(allow_null=True, help_text="Pass as ?cursor= for the next page.")


class LedgerView(APIView):
    permission_classes = [IsWorkspaceMember]

    class LedgerQuery(serializers.Serializer):
        cursor = serializers.IntegerField(required=False, min_value=1)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)

    @extend_schema(parameters=[LedgerQuery], responses=LedgerPageOutput)
    def get(self, request):
        query = self.LedgerQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = ledger_page(
            workspace_id=request.workspace.pk,
            before_id=query.validated_data.get("cursor"),
            limit=query.validated_data["limit"],
        )
        out = {
            "object": "list",
            "data": page.entries,
            "has_more": page.next_cursor is not None,
            "next_cursor": page.next_cursor,
        }
        return Response(LedgerPageOutput(out).data)


class UsageRowOutput(serializers.Serializer):
    group = serializers.CharField(help_text="The day (YYYY-MM-DD), model, key prefix or provider.")
    requests = serializers.IntegerField()
    # A wire field named like a Serializer attribute; DRF's metaclass moves it off the class.
    errors = serializers.IntegerField()  # type: ignore[assignment]
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost_units = serializers.IntegerField()
    charged_units = serializers.IntegerField()
    latency_p50_ms = serializers.IntegerField()
    latency_p95_ms = serializers.IntegerField()


class UsageView(APIView):
    """Usage from the daily rollups, per day, model, key or provider."""

    permission_classes = [IsWorkspaceMember]

    class UsageQuery(serializers.Serializer):
        group_by = serializers.ChoiceField(choices=USAGE_GROUPS, default="day")
        since = serializers.DateField(required=False, help_text="Inclusive; default 30 days ago.")
        until = serializers.DateField(required=False, help_text="Exclusive; default tomorrow.")

    class UsageOutput(serializers.Serializer):
        group_by = serializers.CharField()
        since = serializers.DateField()
        until = serializers.DateField()
        # A wire field named like a Serializer attribute; DRF's metaclass moves it off the class.
        data = UsageRowOutput(many=True)  # type: ignore[assignment]

    @extend_schema(parameters=[UsageQuery], responses=UsageOutput)
    def get(self, request):
        query = self.UsageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        today = timezone.now().date()
        until = query.validated_data.get("until") or today + timedelta(days=1)
        since = query.validated_data.get("since") or until - timedelta(days=31)
        if since >= until:
            raise ValidationError({"since": ["since must be before until."]})
        rows = usage_summary(
            workspace_id=request.workspace.pk,
            group_by=query.validated_data["group_by"],
            since=_midnight(since),
            until=_midnight(until),
        )
        return Response(
            {
                "group_by": query.validated_data["group_by"],
                "since": since.isoformat(),
                "until": until.isoformat(),
                "data": UsageRowOutput(rows, many=True).data,
            }
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class CheckoutOutput(serializers.Serializer):
    session_id = serializers.CharField()
    url = serializers.URLField()


class KeyLimitsOutput(serializers.Serializer):
    prefix = serializers.CharField()
    rpm_limit = serializers.IntegerField(allow_null=True)
    tpm_limit = serializers.IntegerField(allow_null=True)
    spend_limit_units = serializers.IntegerField(allow_null=True)
    spend_period = serializers.CharField()


class CheckoutView(APIView):
    """A Stripe Checkout link: a credit pack (``pack``) or a paid plan (``plan``)."""

    permission_classes = [IsWorkspaceMember]

    class CheckoutInput(StrictInput):
        pack = serializers.CharField(required=False)
        plan = serializers.CharField(required=False)

        def validate(self, attrs):
            if bool(attrs.get("pack")) == bool(attrs.get("plan")):
                raise serializers.ValidationError("Give exactly one of 'pack' or 'plan'.")
            return attrs

    @extend_schema(request=CheckoutInput, responses={201: CheckoutOutput})
    def post(self, request):
        data = self.CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data.get("pack"):
            link = checkout_topup_create(workspace_id=request.workspace.pk, pack=data.validated_data["pack"])
        else:
            link = checkout_subscription_create(
                workspace_id=request.workspace.pk, plan_slug=data.validated_data["plan"]
            )
        return Response({"session_id": link.session_id, "url": link.url}, status=201)


class KeyLimitsView(APIView):
    permission_classes = [IsWorkspaceMember]

    class KeyLimitsInput(StrictInput):
        rpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
        tpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
        spend_limit_units = serializers.IntegerField(
            min_value=0, max_value=INT64_MAX, required=False, allow_null=True, default=None
        )
        spend_period = serializers.ChoiceField(choices=SpendPeriod.values, default=SpendPeriod.MONTH)

    @extend_schema(request=KeyLimitsInput, responses=KeyLimitsOutput)
    def put(self, request, prefix: str):
        key = ApiKey.objects.filter(workspace=request.workspace, prefix=prefix).first()
        if key is None:
            return Response({"error": {"type": "not_found_error", "message": "No such key."}}, status=404)
        data = self.KeyLimitsInput(data=request.data)
        data.is_valid(raise_exception=True)
        limits = key_limits_set(key=key, **data.validated_data)
        return Response(
            {
                "prefix": key.prefix,
                "rpm_limit": limits.rpm_limit,
                "tpm_limit": limits.tpm_limit,
                "spend_limit_units": limits.spend_limit_units,
                "spend_period": limits.spend_period,
            }
        )
