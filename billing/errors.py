"""The billing error tree: services raise ``BillingError`` with a code; each
surface (the /v1 pipeline, the management API) maps it in one place."""

from __future__ import annotations

from enum import StrEnum


class BillingErrorCode(StrEnum):
    INSUFFICIENT_CREDITS = "insufficient_credits"
    SPEND_LIMIT_REACHED = "spend_limit_reached"
    WOULD_OVERDRAW = "would_overdraw"
    INVALID_AMOUNT = "invalid_amount"
    UNKNOWN_WORKSPACE = "unknown_workspace"
    UNKNOWN_PLAN = "unknown_plan"
    UNKNOWN_PACK = "unknown_pack"
    PAYMENTS_NOT_CONFIGURED = "payments_not_configured"
    INVALID_WEBHOOK = "invalid_webhook"


class BillingError(Exception):
    def __init__(self, code: BillingErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
