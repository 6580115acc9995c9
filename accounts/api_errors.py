"""The management API's one exception handler: DRF errors and service errors
become ``{"error": {"type", "message", "detail"}}``."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.services import AccountsError
from firewall.rules import FirewallError


def exception_handler(exc, context):
    if isinstance(exc, AccountsError):
        return Response({"error": {"type": "invalid_request_error", "message": str(exc)}}, status=400)
    if isinstance(exc, FirewallError):
        error = {"type": "invalid_request_error", "message": str(exc), "param": exc.field}
        return Response({"error": error}, status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    message = detail.get("detail") if isinstance(detail, dict) and "detail" in detail else "Invalid request."
    kind = {
        status.HTTP_400_BAD_REQUEST: "invalid_request_error",
        status.HTTP_401_UNAUTHORIZED: "authentication_error",
        status.HTTP_403_FORBIDDEN: "permission_error",
        status.HTTP_404_NOT_FOUND: "not_found_error",
    }.get(response.status_code, "api_error")
    response.data = {"error": {"type": kind, "message": str(message), "detail": detail}}
    return response
