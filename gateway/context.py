"""Per-call state carried through the pipeline, and the log row it becomes."""

from __future__ import annotations

import logging
import os
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from gateway.auth import Principal
from gateway.canonical import CanonicalRequest, CanonicalResponse, Event, Usage
from gateway.catalog.snapshot import Credentials
from gateway.errors import GatewayError
from gateway.logs import request_logs

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
    endpoint: str
    dialect: ModuleType
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
    extra: dict[str, Any] = field(default_factory=dict)
    finished: bool = False
    # Routing: the key of the current attempt (never logged), and whether it is
    # the workspace's own (stored or X-<Provider>-Key): billing then charges no
    # upstream cost, only BYOK_PLATFORM_FEE_PERCENT.
    upstream_credentials: Credentials | None = None
    byok: bool = False
    # Stages that must see or rewrite the answer (the firewall's response
    # scope) register here; any such stage also sets ``force_translate`` so
    # the byte pass-through is not used.
    force_translate: bool = False
    event_filters: list[Callable[[list[Event]], list[Event]]] = field(default_factory=list)
    response_transforms: list[Callable[[CanonicalResponse], CanonicalResponse]] = field(default_factory=list)
    firewall: Any = None  # firewall.hooks.Guard when the response scope has rules
    # Billing (billing.stages): the call's reservation and price state, its
    # cost once known, and a count of streamed delta events (the basis of an
    # estimate when a stream is cut before upstream reports usage).
    billing: Any = None
    cost_units: int = 0
    charged_units: int = 0
    cost_estimated: bool = False
    output_events: int = 0
    # Run by finish(), before the log row is built (billing settles here).
    finish_hooks: list[Callable[[CallContext], None]] = field(default_factory=list)

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
        self.extra["client_disconnected"] = True
        self.status = 499

    def finish(self) -> None:
        """Queue the log row (once). Never blocks on the database."""
        if self.finished:
            return
        self.finished = True
        for hook in self.finish_hooks:
            try:
                hook(self)
            except Exception:  # a failing hook must never lose the log row
                logger.exception("finish hook failed for %s", self.request_id)
        request_logs.submit(self.log_row())

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
