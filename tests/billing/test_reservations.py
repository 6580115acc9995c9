"""Reservations: held atomically, settled exactly once, never below zero."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from billing.errors import BillingError, BillingErrorCode
from billing.models import KeyLimits, KeySpend, Reservation, ReservationStatus, SpendPeriod
from billing.selectors import ledger_mismatches
from billing.services import reservation_create, reservation_settle, reservations_expire
from billing.services.reservations import SpendCap
from tests.billing.conftest import balance, charges, set_balance


@pytest.mark.django_db
def test_settle_charges_and_releases_the_rest_exactly_once(workspace):
    ws = workspace.pk
    set_balance(ws, 1_000)
    handle = reservation_create(request_id="req_1", workspace_id=ws, api_key_id=None, amount_units=600)
    assert balance(ws) == (1_000, 600)
    with pytest.raises(BillingError) as exc:
        reservation_create(request_id="req_2", workspace_id=ws, api_key_id=None, amount_units=401)
    assert exc.value.code is BillingErrorCode.INSUFFICIENT_CREDITS
    assert reservation_settle(handle=handle, charge_units=250).charged_units == 250
    again = reservation_settle(handle=handle, charge_units=250)
    assert again.already_closed and again.charged_units == 0
    assert balance(ws) == (750, 0) and len(charges()) == 1
    assert Reservation.objects.get(request_id="req_1").status == ReservationStatus.SETTLED


@pytest.mark.django_db
def test_charge_above_the_reservation_never_takes_the_balance_below_zero(workspace):
    ws = workspace.pk
    set_balance(ws, 1_000)
    handle = reservation_create(request_id="req_big", workspace_id=ws, api_key_id=None, amount_units=800)
    other = reservation_create(request_id="req_other", workspace_id=ws, api_key_id=None, amount_units=100)
    result = reservation_settle(handle=handle, charge_units=5_000)
    # 800 held + 100 still available; the other call's 100 stays untouched.
    assert (result.charged_units, result.shortfall_units) == (900, 4_100)
    assert balance(ws) == (100, 100)
    reservation_settle(handle=other, charge_units=100)
    assert balance(ws) == (0, 0) and ledger_mismatches() == []


@pytest.mark.django_db
def test_release_writes_no_ledger_entry(workspace):
    before = balance(workspace.pk)
    handle = reservation_create(
        request_id="req_rel", workspace_id=workspace.pk, api_key_id=None, amount_units=50
    )
    reservation_settle(handle=handle, charge_units=0)
    assert balance(workspace.pk) == before and charges() == []
    assert Reservation.objects.get().status == ReservationStatus.RELEASED


@pytest.mark.django_db
def test_key_spend_cap(workspace, api_key):
    KeyLimits.objects.create(api_key_id=api_key.pk, spend_limit_units=1_000, spend_period=SpendPeriod.DAY)
    cap = SpendCap(1_000, SpendPeriod.DAY)
    h1 = reservation_create(
        request_id="r1", workspace_id=workspace.pk, api_key_id=api_key.pk, amount_units=700, spend_cap=cap
    )
    with pytest.raises(BillingError) as exc:
        reservation_create(
            request_id="r2", workspace_id=workspace.pk, api_key_id=api_key.pk, amount_units=400, spend_cap=cap
        )
    assert exc.value.code is BillingErrorCode.SPEND_LIMIT_REACHED and "day spend limit" in exc.value.message
    reservation_settle(handle=h1, charge_units=200)
    spend = KeySpend.objects.get(api_key_id=api_key.pk)
    assert (spend.spent_units, spend.reserved_units) == (200, 0)
    assert spend.period_key == f"day:{timezone.now():%Y-%m-%d}"
    reservation_create(
        request_id="r3", workspace_id=workspace.pk, api_key_id=api_key.pk, amount_units=800, spend_cap=cap
    )
    with pytest.raises(BillingError):
        reservation_create(
            request_id="r4", workspace_id=workspace.pk, api_key_id=api_key.pk, amount_units=1, spend_cap=cap
        )


@pytest.mark.django_db(transaction=True)
def test_expired_reservations_are_closed_from_the_log_row(workspace):
    from gateway.models import RequestLog

    before = balance(workspace.pk)[0]
    reservation_create(request_id="req_logged", workspace_id=workspace.pk, api_key_id=None, amount_units=500)
    reservation_create(request_id="req_lost", workspace_id=workspace.pk, api_key_id=None, amount_units=500)
    RequestLog.objects.create(
        request_id="req_logged",
        created_at=timezone.now(),
        workspace=workspace,
        endpoint="x",
        status_code=200,
        charged_units=120,
    )
    assert reservations_expire(older_than=timedelta(hours=1)) == 0  # too young
    Reservation.objects.update(created_at=timezone.now() - timedelta(hours=3))
    assert reservations_expire(older_than=timedelta(hours=1)) == 2
    assert balance(workspace.pk) == (before - 120, 0)
    assert reservations_expire(older_than=timedelta(hours=1)) == 0


# ------------------------------------------------------------ concurrency


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_overdraw_on_postgres(workspace):
    """60 threads, each its own connection, reserve at once against a balance
    covering exactly 25 of them; then all settle concurrently."""
    if not is_postgres():
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    ws = workspace.pk
    set_balance(ws, 25 * 400)
    start, reserved = threading.Barrier(60), threading.Barrier(60)

    def call(i: int):
        try:
            start.wait()
            try:
                handle = reservation_create(
                    request_id=f"req_c{i}", workspace_id=ws, api_key_id=None, amount_units=400
                )
            except BillingError:
                handle = None
            reserved.wait()  # every reservation is decided before anything is released
            if handle is None:
                return None
            reservation_settle(handle=handle, charge_units=300)
            reservation_settle(handle=handle, charge_units=300)  # a duplicate settle changes nothing
            return handle
        finally:
            connections.close_all()

    with ThreadPoolExecutor(60) as pool:
        results = list(pool.map(call, range(60)))
    admitted = [r for r in results if r is not None]
    assert len(admitted) == 25
    assert balance(ws) == (25 * 400 - 25 * 300, 0)
    assert len(charges()) == 25 and ledger_mismatches() == []


@pytest.mark.django_db
def test_reserve_and_settle_are_few_queries(workspace, django_assert_max_num_queries):
    """One round trip each on the hot path; this bounds the statements inside it."""
    # savepoint, conditional UPDATE, INSERT, release (+ SET LOCAL synchronous_commit on PostgreSQL)
    hold_statements = 5 if connection.vendor == "postgresql" else 4
    with django_assert_max_num_queries(hold_statements):
        handle = reservation_create(
            request_id="req_q", workspace_id=workspace.pk, api_key_id=None, amount_units=9
        )
    with django_assert_max_num_queries(
        5
    ):  # savepoint, close reservation, UPDATE account, INSERT charge, release
        reservation_settle(handle=handle, charge_units=5)
    assert Reservation.objects.get(request_id="req_q").charged_units == 5
