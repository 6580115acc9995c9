from __future__ import annotations

from django.db import models


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI (Responses + Chat Completions)"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible (Chat Completions)"
    ANTHROPIC = "anthropic", "Anthropic Messages"
    GEMINI = "gemini", "Gemini generateContent"


class Provider(models.Model):
    """An upstream. Platform credentials come from the environment
    (``<SLUG>_API_KEY``, ``<SLUG>_BASE_URL``), never from this table."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=ProviderKind.choices)
    base_url = models.URLField(max_length=500)
    requires_key = models.BooleanField(default=True)
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.slug


class CatalogModel(models.Model):
    """A model as customers name it (``gpt-4o-mini``), with its capabilities and
    prices. Prices are exact decimals in USD per million tokens or per call."""

    model_id = models.CharField(max_length=200, unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    owned_by = models.CharField(max_length=64)
    created = models.IntegerField(default=0, help_text="Unix time the model was announced.")
    context_window = models.IntegerField(default=128_000)
    max_output_tokens = models.IntegerField(default=16_384)
    # Capabilities, as listed names: streaming, tools, vision, json_schema,
    # json_object, reasoning, files, web_search, image_generation, embeddings.
    capabilities = models.JSONField(default=list, blank=True)
    quality_tier = models.PositiveSmallIntegerField(default=2, help_text="1 (basic) … 5 (frontier)")
    input_price = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    cached_input_price = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    output_price = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    image_price = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    web_search_price = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    # 0 means "as input" (writes) and "as output" (reasoning): see billing.money.PriceSheet.
    cache_write_5m_price = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    cache_write_1h_price = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    reasoning_price = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    # Image models: USD per image by quality, then size ({"low": {"1024x1024": "0.011"}}).
    image_prices = models.JSONField(default=dict, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = "model"

    def __str__(self) -> str:
        return self.model_id


class Deployment(models.Model):
    """Where a catalog model can be served: a provider and its upstream name."""

    model = models.ForeignKey(CatalogModel, on_delete=models.CASCADE, related_name="deployments")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="deployments")
    upstream_model = models.CharField(max_length=200)
    priority = models.IntegerField(default=100, help_text="Lower is tried first.")
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "provider"], name="uniq_deployment")]
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.model.model_id} @ {self.provider.slug}"


class RequestLog(models.Model):
    """One row per /v1 call, success or failure. Written in batches off the hot path."""

    request_id = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(db_index=True)
    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    endpoint = models.CharField(max_length=64)
    method = models.CharField(max_length=8, default="POST")
    model_requested = models.CharField(max_length=200, blank=True)
    model_used = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField()
    error_type = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    stream = models.BooleanField(default=False)
    input_tokens = models.IntegerField(default=0)
    cached_input_tokens = models.IntegerField(default=0)
    output_tokens = models.IntegerField(default=0)
    reasoning_tokens = models.IntegerField(default=0)
    # Billing: the true upstream cost and what was charged (units of 1/10,000 USD),
    # and whether usage was estimated (a stream cut before upstream reported it).
    cost_units = models.BigIntegerField(default=0)
    charged_units = models.BigIntegerField(default=0)
    cost_estimated = models.BooleanField(default=False)
    ttfb_ms = models.IntegerField(null=True, blank=True)
    latency_ms = models.IntegerField(default=0)
    metadata = models.JSONField(null=True, blank=True)
    user = models.CharField(max_length=256, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    # Filled by later stages (routing trace, firewall hits, billing); free-form JSON.
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        # The Logs page and /api/manage/logs read a workspace's rows newest
        # first, keyset-paginated on (created_at, id), filtered most often by
        # model or status (gateway/selectors.py; bench/README.md has timings).
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="reqlog_ws_created"),
            models.Index(fields=["workspace", "model_used", "-created_at"], name="reqlog_ws_model"),
            models.Index(fields=["workspace", "status_code", "-created_at"], name="reqlog_ws_status"),
            models.Index(fields=["api_key", "-created_at"]),
            models.Index(fields=["status_code", "-created_at"]),
        ]

    def __str__(self) -> str:
        return self.request_id
