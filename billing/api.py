"""Management API: the workspace's credits, ledger, checkout links and key limits."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.permissions import IsWorkspaceMember
from billing.models import LedgerEntry, SpendPeriod
from billing.money import units_to_credits, units_to_usd
from billing.selectors import workspace_balance, workspace_plan
from billing.services.limits import key_limits_set
from billing.services.payments import checkout_subscription_create, checkout_topup_create
from config.api_input import INT64_MAX, StrictInput


class CreditsView(APIView):
    permission_classes = [IsWorkspaceMember]

    class Output(serializers.Serializer):
        balance_units = serializers.IntegerField()
        reserved_units = serializers.IntegerField()
        available_units = serializers.IntegerField()
        balance_usd = serializers.DecimalField(max_digits=20, decimal_places=4)
        credits = serializers.DecimalField(max_digits=20, decimal_places=2)
        plan = serializers.CharField(allow_null=True)
        plan_status = serializers.CharField()

    @extend_schema(responses=Output)
    def get(self, request):
        balance = workspace_balance(workspace_id=request.workspace.pk)
        plan, status = workspace_plan(workspace_id=request.workspace.pk)
        return Response(
            self.Output(
                {
                    "balance_units": balance.balance_units,
                    "reserved_units": balance.reserved_units,
                    "available_units": balance.available_units,
                    "balance_usd": units_to_usd(balance.balance_units),
                    "credits": units_to_credits(balance.balance_units),
                    "plan": plan,
                    "plan_status": status,
                }
            ).data
        )


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


class LedgerView(APIView):
    permission_classes = [IsWorkspaceMember]

    @extend_schema(responses=LedgerEntryOutput(many=True))
    def get(self, request):
        entries = LedgerEntry.objects.filter(workspace=request.workspace).select_related("created_by")
        return Response(LedgerEntryOutput(entries.order_by("-id")[:200], many=True).data)


class CheckoutView(APIView):
    """A Stripe Checkout link: a credit pack (``pack``) or a paid plan (``plan``)."""

    permission_classes = [IsWorkspaceMember]

    class Input(StrictInput):
        pack = serializers.CharField(required=False)
        plan = serializers.CharField(required=False)

        def validate(self, attrs):
            if bool(attrs.get("pack")) == bool(attrs.get("plan")):
                raise serializers.ValidationError("Give exactly one of 'pack' or 'plan'.")
            return attrs

    @extend_schema(request=Input)
    def post(self, request):
        data = self.Input(data=request.data)
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

    class Input(StrictInput):
        rpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
        tpm_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
        spend_limit_units = serializers.IntegerField(
            min_value=0, max_value=INT64_MAX, required=False, allow_null=True, default=None
        )
        spend_period = serializers.ChoiceField(choices=SpendPeriod.values, default=SpendPeriod.MONTH)

    @extend_schema(request=Input)
    def put(self, request, prefix: str):
        key = ApiKey.objects.filter(workspace=request.workspace, prefix=prefix).first()
        if key is None:
            return Response({"error": {"type": "not_found_error", "message": "No such key."}}, status=404)
        data = self.Input(data=request.data)
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
