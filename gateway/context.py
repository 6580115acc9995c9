"""Per-call state carried through the pipeline, and the log row it becomes."""

from __future__ import annotations

import logging
import os
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.auth import Principal
from gateway.canonical import CanonicalRequest, Usage
from gateway.catalog.snapshot import Credentials
from gateway.dialects.base import AnswerFields, InboundDialect
from gateway.errors import GatewayError
from gateway.logs import request_logs
from gateway.stage import CallStage

logger = logging.getLogger("junction.context")


# Request ids need to be unique, not secret: a generator seeded from the OS once
# per process (and again in a forked child) instead of an os.urandom call per
# request (5 % of the event loop at c=16 in bench/).
_ids = random.Random(secrets.randbits(128))
os.register_at_fork(after_in_child=lambda: _ids.seed(secrets.randbits(128)))


def new_request_id() -> str:
    return f"req_{_ids.getrandbits(96):024x}"


@dataclass(slots=True)
class CallContext:
    """One call's state shared by every stage. What belongs to one stage app
    lives in that app's ``CallStage`` (on ``stages``), typed."""

    endpoint: str
    dialect: InboundDialect
    headers: dict[str, str]
    client_ip: str | None = None
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    principal: Principal | None = None
    request: CanonicalRequest | None = None
    model_requested: str = ""
    model_used: str = ""
    provider: str = ""
    stream: bool = False
    usage: Usage | None = None
    ttfb_ms: int | None = None
    status: int = 200
    error: GatewayError | None = None
    client_gone: bool = False
    finished: bool = False
    # The stage apps taking part in this call, in the order the relay asks them
    # (``gateway.stage``); set by the pipeline.
    stages: Sequence[CallStage] = ()
    # Routing: the key of the current attempt (never logged), and whether it is
    # the workspace's own (stored or X-<Provider>-Key): billing then charges no
    # upstream cost, only BYOK_PLATFORM_FEE_PERCENT.
    upstream_credentials: Credentials | None = None
    byok: bool = False
    # A stage that must see the text of the answer (the firewall's response
    # scope on a stream) sets this: the byte pass-through is then not used.
    force_translate: bool = False
    # The call's cost once billing has settled it, for the log row; and the
    # count of streamed delta events (billing's estimate when a stream is cut
    # before the upstream reports usage).
    cost_units: int = 0
    charged_units: int = 0
    cost_estimated: bool = False
    output_events: int = 0

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    def mark_first_byte(self) -> None:
        if self.ttfb_ms is None:
            self.ttfb_ms = self.elapsed_ms()

    def attach(self, request: CanonicalRequest) -> None:
        self.request = request
        self.model_requested = request.model
        self.stream = request.stream

    def fail(self, err: GatewayError, *, status: int | None = None) -> None:
        self.error = err
        self.status = err.status if status is None else status

    def client_disconnected(self) -> None:
        self.client_gone = True
        self.status = 499

    # ------------------------------------------------- the relay's fixed points

    def answer_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for stage in self.stages:
            headers.update(stage.answer_headers(self, self.error))
        return headers

    def answer_fields(self) -> AnswerFields:
        """Junction's fields for the answer (top level and usage object)."""
        fields = AnswerFields(
            {"x_request_id": self.request_id, "provider": self.provider, "latency_ms": self.elapsed_ms()}
        )
        for stage in self.stages:
            stage.answer_fields(self, fields)
        return fields

    def finish(self) -> None:
        """End the call (once): each stage's ``finish`` in order (billing
        settles), then the log row is queued. Never blocks on the database."""
        if self.finished:
            return
        self.finished = True
        for stage in self.stages:
            try:
                stage.finish(self)
            except Exception:  # a failing stage must never lose the log row
                logger.exception("%s.finish failed for %s", type(stage).__name__, self.request_id)
        request_logs.submit(self.log_row())

    @property
    def extra(self) -> dict[str, Any]:
        """The log row's ``extra``: each stage's part, built when asked (read-only)."""
        extra: dict[str, Any] = {}
        for stage in self.stages:
            extra.update(stage.log_extra())
        if self.client_gone:
            extra["client_disconnected"] = True
        if self.usage is not None:  # hosted tool calls, billed per call (no token column says them)
            if self.usage.web_search_calls:
                extra["web_search_calls"] = self.usage.web_search_calls
            if self.usage.images:
                extra["images"] = self.usage.images
        return extra

    def log_row(self) -> dict[str, Any]:
        usage = self.usage or Usage()
        req = self.request
        err = self.error
        return {
            "request_id": self.request_id,
            "created_at": self.started_at,
            "workspace_id": self.principal.workspace_id if self.principal else None,
            "api_key_id": self.principal.key_id if self.principal else None,
            "endpoint": self.endpoint,
            "model_requested": self.model_requested[:200],
            "model_used": self.model_used,
            "provider": self.provider,
            "status_code": self.status,
            "error_type": str(err.type) if err else "",
            "error_message": err.message[:2000] if err else "",
            "stream": self.stream,
            "input_tokens": usage.input_tokens,
            "cached_input_tokens": usage.cached_input_tokens,
            "output_tokens": usage.output_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "cost_units": self.cost_units,
            "charged_units": self.charged_units,
            "cost_estimated": self.cost_estimated,
            "ttfb_ms": self.ttfb_ms,
            "latency_ms": self.elapsed_ms(),
            "metadata": req.metadata if req else None,
            "user": (req.user or "")[:256] if req else "",
            "client_ip": self.client_ip,
            "user_agent": self.headers.get("user-agent", "")[:512],
            "extra": self.extra,
        }
