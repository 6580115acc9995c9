"""``/healthz`` (is the process alive, and what is degraded) and ``/readyz``
(should a load balancer send it traffic).

Redis is optional at runtime (``gateway.redis_clients``): with Redis down the
process still serves /v1 (keys and rules from the database, rate limits in
each process), so ``/readyz`` stays 200 and ``/healthz`` says ``degraded``.
Without its database a process cannot serve: ``/readyz`` is 503.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

from gateway.redis_clients import link


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "ok"}


def _redis() -> dict[str, Any]:
    if link.status()["status"] != "not_configured":
        link.ping()  # a fresh look (short timeouts), and recovery noticed at once
    return link.status()


def _checks() -> dict[str, dict[str, Any]]:
    return {"database": _database(), "redis": _redis()}


def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process answers; ``degraded`` names what is down."""
    checks = _checks()
    degraded = sorted(name for name, check in checks.items() if check["status"] == "down")
    return JsonResponse({"status": "degraded" if degraded else "ok", "degraded": degraded, "checks": checks})


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the process can serve /v1 (its database answers), else 503."""
    checks = _checks()
    ready = checks["database"]["status"] == "ok"
    degraded = sorted(name for name, check in checks.items() if check["status"] == "down")
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "degraded": degraded, "checks": checks},
        status=200 if ready else 503,
    )
