"""Billing's public (non-/v1) routes, mounted at /billing/."""

from django.urls import path

from billing.stripe_webhooks import stripe_webhook

urlpatterns = [
    path("stripe/webhook", stripe_webhook, name="stripe-webhook"),
]
