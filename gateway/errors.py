"""The one error tree of the /v1 surface.

Stages raise ``GatewayError``; each dialect maps it to its own wire shape in
exactly one place (``gateway.dialects.<name>.encode_error``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ErrorType(StrEnum):
    INVALID_REQUEST = "invalid_request_error"
    AUTHENTICATION = "authentication_error"
    PERMISSION = "permission_error"
    NOT_FOUND = "not_found_error"
    MODEL_NOT_FOUND = "model_not_found"
    REQUEST_TOO_LARGE = "request_too_large"
    CONFLICT = "conflict_error"
    UNPROCESSABLE = "unprocessable_entity"
    RATE_LIMIT = "rate_limit_error"
    INSUFFICIENT_QUOTA = "insufficient_quota"
    CONTEXT_LENGTH = "context_length_exceeded"
    FIREWALL_BLOCKED = "firewall_blocked"
    ROUTING = "routing_error"
    UPSTREAM = "upstream_error"
    TIMEOUT = "timeout_error"
    OVERLOADED = "overloaded_error"
    INTERNAL = "internal_error"


DEFAULT_STATUS: dict[ErrorType, int] = {
    ErrorType.INVALID_REQUEST: 400,
    ErrorType.AUTHENTICATION: 401,
    ErrorType.PERMISSION: 403,
    ErrorType.NOT_FOUND: 404,
    ErrorType.MODEL_NOT_FOUND: 404,
    ErrorType.REQUEST_TOO_LARGE: 413,
    ErrorType.CONFLICT: 409,
    ErrorType.UNPROCESSABLE: 422,
    ErrorType.RATE_LIMIT: 429,
    ErrorType.INSUFFICIENT_QUOTA: 402,
    ErrorType.CONTEXT_LENGTH: 400,
    ErrorType.FIREWALL_BLOCKED: 400,
    ErrorType.ROUTING: 422,
    ErrorType.UPSTREAM: 502,
    ErrorType.TIMEOUT: 504,
    ErrorType.OVERLOADED: 529,
    ErrorType.INTERNAL: 500,
}


@dataclass
class GatewayError(Exception):
    type: ErrorType
    message: str
    status: int = 0
    param: str | None = None
    code: str | None = None
    provider: str | None = None
    raw: Any = None
    retry_after: str | None = None
    rule_trace: list[dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # True when the failure is worth trying on another deployment (before any
    # byte reached the client): connect errors, timeouts, 429, 5xx.
    retryable: bool = False

    def __post_init__(self) -> None:
        if not self.status:
            self.status = DEFAULT_STATUS[self.type]
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


def invalid_request(message: str, *, param: str | None = None, code: str | None = None) -> GatewayError:
    return GatewayError(ErrorType.INVALID_REQUEST, message, param=param, code=code)


def database_unavailable() -> GatewayError:
    """The database did not answer (down, restarting, its pool empty for
    ``DATABASE_POOL_TIMEOUT``): a 503 the SDKs retry, not a 500 bug report."""
    return GatewayError(
        ErrorType.INTERNAL,
        "Junction's database is unavailable; retry shortly.",
        status=503,
        code="service_unavailable",
        retry_after="1",
    )


def unsupported_parameter(param: str, provider: str, detail: str = "") -> GatewayError:
    """A capability the chosen upstream lacks: refused, never silently dropped."""
    message = f"Parameter '{param}' is not supported by provider '{provider}'."
    if detail:
        message = f"{message} {detail}"
    return GatewayError(
        ErrorType.INVALID_REQUEST, message, param=param, code="unsupported_parameter", provider=provider
    )


def unsupported_tool(param: str, message: str, *, provider: str | None = None) -> GatewayError:
    """A tool the caller's dialect, the upstream or the model cannot serve
    (``param`` is the tool: ``tools[2]``)."""
    return GatewayError(
        ErrorType.INVALID_REQUEST, message, param=param, code="unsupported_tool", provider=provider
    )
