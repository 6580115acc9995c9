"""Per-call state carried through the pipeline, and the log row it becomes."""

from __future__ import annotations

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


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


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
            "ttfb_ms": self.ttfb_ms,
            "latency_ms": self.elapsed_ms(),
            "metadata": req.metadata if req else None,
            "user": (req.user or "")[:256] if req else "",
            "client_ip": self.client_ip,
            "user_agent": self.headers.get("user-agent", "")[:512],
            "extra": self.extra,
        }
