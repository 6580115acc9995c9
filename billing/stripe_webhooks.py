"""The Stripe webhook endpoint: verify the signature, apply the event once."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.errors import BillingError, BillingErrorCode
from billing.services.payments import stripe_event_handle, stripe_event_verify

logger = logging.getLogger("junction.billing.stripe")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        event = stripe_event_verify(payload=request.body, signature=request.headers.get("Stripe-Signature"))
        outcome = stripe_event_handle(event=event)
    except BillingError as exc:
        status = 503 if exc.code is BillingErrorCode.PAYMENTS_NOT_CONFIGURED else 400
        return JsonResponse({"error": {"type": str(exc.code), "message": exc.message}}, status=status)
    logger.info("stripe event %s (%s): %s", event.get("id"), event.get("type"), outcome)
    return JsonResponse({"received": True, "outcome": outcome})
