"""Upstream error classification shared by every provider: an HTTP status and
the provider's message -> Junction's ``GatewayError`` (each provider's
``map_error`` reads its own error body, then calls ``classify``)."""

from __future__ import annotations

from typing import Any

from gateway.errors import ErrorType, GatewayError


def classify(
    *,
    status: int,
    message: str,
    code: str | None,
    param: str | None,
    headers: dict[str, str],
    provider: str,
    raw: Any,
) -> GatewayError:
    """Upstream status -> Junction error, the same rules for every provider."""
    lowered = message.lower()
    if (
        code == "context_length_exceeded"
        or "context length" in lowered
        or "context window" in lowered
        or ("too long" in lowered and "token" in lowered)
    ):
        return GatewayError(
            ErrorType.CONTEXT_LENGTH,
            message,
            status=400,
            param=param or "messages",
            code="context_length_exceeded",
            provider=provider,
            raw=raw,
        )
    if status == 429:
        return GatewayError(
            ErrorType.RATE_LIMIT,
            message,
            status=429,
            code=code or "rate_limit_exceeded",
            provider=provider,
            raw=raw,
            retry_after=headers.get("retry-after"),
            retryable=True,
        )
    if status in (400, 413, 422):
        return GatewayError(
            ErrorType.INVALID_REQUEST,
            message,
            status=413 if status == 413 else 400,
            param=param,
            code=code,
            provider=provider,
            raw=raw,
        )
    if status == 408 or status == 504:
        return GatewayError(
            ErrorType.TIMEOUT,
            message,
            status=504,
            code="upstream_timeout",
            provider=provider,
            raw=raw,
            retryable=True,
        )
    if status == 529:
        return GatewayError(
            ErrorType.OVERLOADED,
            message,
            status=529,
            code="overloaded",
            provider=provider,
            raw=raw,
            retryable=True,
        )
    # 401/403/404 from an upstream are Junction's configuration problems, not
    # the caller's: report them as a bad gateway, never as the caller's 401.
    return GatewayError(
        ErrorType.UPSTREAM,
        f"Upstream provider '{provider}' failed with HTTP {status}: {message}",
        status=502,
        code="upstream_error",
        provider=provider,
        raw=raw,
        retryable=status >= 500,
    )
