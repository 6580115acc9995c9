"""Billing data: credit accounts, the append-only ledger, credit leases, plans,
per-key spend, Stripe events, idempotency records and usage rollups.

All amounts are integer units (1 unit = 1/10,000 USD; see ``billing.money``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

from django.conf import settings
from django.db import models


class SpendPeriod(models.TextChoices):
    DAY = "day", "Per day (UTC)"
    MONTH = "month", "Per month (UTC)"
    TOTAL = "total", "In total"


class Plan(models.Model):
    """A plan's monthly grant and default limits. Paid plans carry their Stripe price."""

    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    monthly_grant_units = models.BigIntegerField(default=0)
    price_cents = models.PositiveIntegerField(default=0, help_text="Monthly price in US cents.")
    stripe_price_id = models.CharField(max_length=100, blank=True)
    rpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Requests per minute per key.")
    tpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens per minute per key.")
    max_concurrency = models.PositiveIntegerField(
        null=True, blank=True, help_text="Concurrent requests per workspace."
    )
    is_default = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.slug


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"


class CreditAccount(models.Model):
    """A workspace's money. ``balance_units`` is a cached column that always
    equals the sum of the workspace's ledger; ``reserved_units`` is the credit
    server processes have leased for calls in flight (``CreditLease``, ``billing.book``).
    Available = balance - reserved: never below zero, except after a Stripe
    refund or dispute took back credit that was already spent or leased (then
    every call that needs credit is refused until a top-up covers the gap)."""

    workspace = models.OneToOneField(
        "accounts.Workspace", primary_key=True, on_delete=models.CASCADE, related_name="credit_account"
    )
    balance_units = models.BigIntegerField(default=0)
    reserved_units = models.BigIntegerField(default=0)
    markup = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("1.0"))
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    plan_status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    stripe_customer_id = models.CharField(max_length=100, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=100, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(reserved_units__gte=0), name="reserved_not_negative"),
            models.CheckConstraint(condition=models.Q(markup__gte=0), name="markup_not_negative"),
        ]

    def __str__(self) -> str:
        return f"credits of workspace {self.workspace_id}"

    @property
    def available_units(self) -> int:
        return self.balance_units - self.reserved_units


class EntryKind(models.TextChoices):
    GRANT = "grant", "Grant"
    TOPUP = "topup", "Top-up"
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"
    ADJUSTMENT = "adjustment", "Adjustment"
    # A Stripe refund or dispute taking a top-up back (negative), or a won
    # dispute giving it back (positive). The only entry that may take the
    # balance below zero.
    REVERSAL = "reversal", "Stripe reversal"


class AppendOnlyError(Exception):
    pass


class LedgerEntry(models.Model):
    """One movement of money. Never updated, never deleted.

    ``idempotency_key`` names what caused the entry (``charge:<request_id>``,
    ``topup:<checkout session>``, ``grant:<workspace>:<plan>:<month>``…) and is
    unique, so the same cause can never be booked twice."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount_units = models.BigIntegerField(help_text="Signed: credits are positive, charges negative.")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    request_id = models.CharField(max_length=40, blank=True, db_index=True)
    stripe_object_id = models.CharField(max_length=100, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["workspace", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["request_id"],
                condition=models.Q(kind="charge"),
                name="one_charge_per_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_units:+d} ({self.workspace_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Ledger entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Ledger entries are append-only.")


class CreditLease(models.Model):
    """Credit one server process holds back for its calls in flight (``billing.book``).

    A workspace lease (``api_key`` empty) is part of the workspace's
    ``CreditAccount.reserved_units``; a key lease is part of the key's
    ``KeySpend.reserved_units`` for ``period_key`` (its spend cap). The process
    holds calls against its leases in memory and writes their charges in
    batches, each shrinking the lease by what it covered. A lease whose process
    stopped renewing it is handed back by ``billing.expire_leases``.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    period_key = models.CharField(max_length=32, blank=True)
    holder = models.CharField(max_length=100, help_text="The server process (host:pid:start).")
    amount_units = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    renewed_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_units__gte=0), name="lease_not_negative"),
        ]

    def __str__(self) -> str:
        return f"lease {self.pk} of {self.holder}: {self.amount_units}"


class KeyLimits(models.Model):
    """Optional per-key limits. Missing fields fall back to the plan's defaults."""

    api_key = models.OneToOneField("accounts.ApiKey", on_delete=models.CASCADE, related_name="limits")
    rpm_limit = models.PositiveIntegerField(null=True, blank=True)
    tpm_limit = models.PositiveIntegerField(null=True, blank=True)
    spend_limit_units = models.BigIntegerField(null=True, blank=True)
    spend_period = models.CharField(max_length=8, choices=SpendPeriod.choices, default=SpendPeriod.MONTH)

    def __str__(self) -> str:
        return f"limits of key {self.api_key_id}"


class KeySpend(models.Model):
    """What one key spent (and holds reserved) in one spend period."""

    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.CASCADE, related_name="+")
    period_key = models.CharField(max_length=32)  # "day:2026-11-22", "month:2026-11", "total"
    spent_units = models.BigIntegerField(default=0)
    reserved_units = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "period_key"], name="uniq_key_spend_period"),
            models.CheckConstraint(
                condition=models.Q(reserved_units__gte=0), name="key_reserved_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"key {self.api_key_id} {self.period_key}: {self.spent_units}"


class StripeEvent(models.Model):
    """Every Stripe event handled, once: a replay finds its row and does nothing."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type})"


class StripePayment(models.Model):
    """A paid top-up, by its PaymentIntent: what refunds and disputes of that
    payment may take back (never more than was credited, in total)."""

    payment_intent = models.CharField(max_length=100, unique=True)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.PROTECT, related_name="+")
    checkout_session = models.CharField(max_length=100, blank=True)
    credited_units = models.BigIntegerField()
    refunded_units = models.BigIntegerField(default=0)
    disputed_units = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.payment_intent} ({self.workspace_id})"

    @property
    def remaining_units(self) -> int:
        return self.credited_units - self.refunded_units - self.disputed_units


class IdempotencyStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class IdempotencyRecord(models.Model):
    """A model call made with an ``Idempotency-Key``; its result is kept 24 h."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    body_sha256 = models.CharField(max_length=64)
    request_id = models.CharField(max_length=40)
    status = models.CharField(
        max_length=8, choices=IdempotencyStatus.choices, default=IdempotencyStatus.RUNNING
    )
    stream = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="uniq_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class Granularity(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class UsageRollup(models.Model):
    """Usage per period, workspace, key, model and provider, recomputed from
    request logs (recomputing a period replaces its rows with the same rows)."""

    granularity = models.CharField(max_length=4, choices=Granularity.choices)
    period_start = models.DateTimeField()
    workspace_id = models.BigIntegerField()
    api_key_id = models.BigIntegerField(default=0, help_text="0 when the call had no key.")
    model = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=64, blank=True)
    requests = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    cached_input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    reasoning_tokens = models.BigIntegerField(default=0)
    cost_units = models.BigIntegerField(default=0)
    charged_units = models.BigIntegerField(default=0)
    latency_p50_ms = models.IntegerField(default=0)
    latency_p95_ms = models.IntegerField(default=0)
    latency_p99_ms = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "period_start", "workspace_id", "api_key_id", "model", "provider"],
                name="uniq_usage_rollup",
            )
        ]
        indexes = [models.Index(fields=["workspace_id", "granularity", "period_start"])]

    def __str__(self) -> str:
        return f"{self.granularity} {self.period_start:%Y-%m-%d %H:00} ws {self.workspace_id} {self.model}"
