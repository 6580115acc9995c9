"""Billing test helpers: balances, prices, waiting for settlement."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from billing.models import CreditAccount, LedgerEntry, Reservation, ReservationStatus
from billing.services import credits_adjust, credits_grant
from gateway.catalog.snapshot import invalidate_catalog
from gateway.models import CatalogModel
from tests.factories import MembershipFactory, UserFactory
from tests.gateway.conftest import fake_anthropic, fake_anthropic_server  # noqa: F401 (fixtures used here)


def set_balance(workspace_id: int, units: int) -> None:
    """Bring a workspace to exactly ``units`` through the ledger (never by writing the column)."""
    account = CreditAccount.objects.filter(workspace_id=workspace_id).first()
    current = account.balance_units if account else 0
    if units != current:
        credits_adjust(
            workspace_id=workspace_id,
            units=units - current,
            reason="test balance",
            created_by=UserFactory(username="operator@junction.test"),
        )


def balance(workspace_id: int) -> tuple[int, int]:
    account = CreditAccount.objects.get(workspace_id=workspace_id)
    return account.balance_units, account.reserved_units


def set_prices(model_id: str, *, input: str, cached_input: str, output: str) -> None:
    CatalogModel.objects.filter(model_id=model_id).update(
        input_price=Decimal(input), cached_input_price=Decimal(cached_input), output_price=Decimal(output)
    )
    invalidate_catalog()


def wait_settled(timeout: float = 5.0) -> None:
    """Settlement runs on the server's loop just after the last byte; wait for it."""
    deadline = time.monotonic() + timeout
    while Reservation.objects.filter(status=ReservationStatus.OPEN).exists():
        if time.monotonic() > deadline:
            raise AssertionError("a reservation is still open")
        time.sleep(0.02)


def charges() -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(kind="charge").order_by("id"))


@pytest.fixture
def unfunded_workspace(db):
    ws = MembershipFactory().workspace
    credits_grant(workspace_id=ws.pk, units=1, reason="setup")  # creates the account
    set_balance(ws.pk, 0)
    return ws


# gpt-4o-mini at these prices: the fake's chat usage (12 in, 2 cached, 9 out) costs
# 10 x 1000 + 2 x 500 + 9 x 2000 = 29,000 per 1M = $0.029 = 290 units.
PRICES = {"input": "1000", "cached_input": "500", "output": "2000"}
CHAT_COST_UNITS = 290
# Responses usage (14 in, 4 cached, 11 out): 10 x 1000 + 4 x 500 + 11 x 2000 = $0.034 = 340 units.
RESPONSES_COST_UNITS = 340


@pytest.fixture
def priced(catalog) -> None:
    set_prices("gpt-4o-mini", **PRICES)
