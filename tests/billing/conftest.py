"""Billing test helpers: balances, prices, waiting for settlement."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.book.credit_book import CreditBook, book
from billing.models import CreditAccount, LedgerEntry
from billing.services import credits_adjust, credits_grant
from gateway.catalog.snapshot import invalidate_catalog
from gateway.models import CatalogModel
from tests.factories import MembershipFactory, UserFactory
from tests.gateway.conftest import (  # noqa: F401 (fixtures used here)
    claude,
    fake_anthropic,
    fake_anthropic_server,
    fake_gemini,
    fake_gemini_server,
)


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


def set_prices(model_id: str, *, input: str, cached_input: str, output: str, **more: str) -> None:
    """Token prices per 1M; cache writes and reasoning (``cache_write_5m``,
    ``cache_write_1h``, ``reasoning``) are 0 (as input / as output) unless given."""
    extra = {
        f"{k}_price": Decimal(more.get(k, "0")) for k in ("cache_write_5m", "cache_write_1h", "reasoning")
    }
    CatalogModel.objects.filter(model_id=model_id).update(
        input_price=Decimal(input),
        cached_input_price=Decimal(cached_input),
        output_price=Decimal(output),
        **extra,
    )
    invalidate_catalog()


def wait_settled(timeout: float = 5.0) -> None:
    """Settlement runs on the server's loop just after the last byte: wait for
    the live server's credit book to have no open hold, then write its charges
    and hand its leases back (what the server does within a moment by itself)."""
    book.settled(timeout)


def charge_call(workspace_id: int, request_id: str, *, hold: int, charge: int) -> None:
    """One call's billing, start to end, through a book of its own (no server)."""
    own = CreditBook(background=False)
    held = own.hold_blocking(request_id=request_id, workspace_id=workspace_id, api_key_id=None, amount=hold)
    own.settle(held, charge)
    own.flush(force_return=True)


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
