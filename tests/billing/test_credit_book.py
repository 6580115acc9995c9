"""The credit book: calls held in memory against leased credit, settled once,
written in batches; the database never lets the leases exceed the balance."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection, connections
from django.utils import timezone

from billing.book import holding as holding_module
from billing.book import writing as writing_module
from billing.book.credit_book import CreditBook
from billing.book.state import SpendCap
from billing.errors import BillingError, BillingErrorCode
from billing.models import CreditLease, KeyLimits, KeySpend, LedgerEntry, SpendPeriod
from billing.selectors import ledger_mismatches, reserved_mismatches
from billing.services import charges_post, leases_expire
from billing.services.leases import Charge
from gateway.models import RequestLog
from tests.billing.conftest import balance, charges, set_balance


@pytest.fixture
def exact(settings):
    """Leases of exactly what a hold needs (no headroom): reserved_units shows the holds."""
    settings.BILLING_LEASE_CALLS = 0


def hold(book: CreditBook, ws: int, request_id: str, amount: int, **kw):
    return book.hold_blocking(
        request_id=request_id, workspace_id=ws, api_key_id=kw.pop("key", None), amount=amount, **kw
    )


@pytest.mark.django_db
def test_settle_charges_and_releases_the_rest_exactly_once(workspace, exact):
    ws, book = workspace.pk, CreditBook(background=False)
    set_balance(ws, 1_000)
    first = hold(book, ws, "req_1", 600)
    assert balance(ws) == (1_000, 600)
    with pytest.raises(BillingError) as exc:
        hold(book, ws, "req_2", 401)
    assert exc.value.code is BillingErrorCode.INSUFFICIENT_CREDITS
    assert balance(ws) == (1_000, 600)  # a refusal holds nothing
    assert book.settle(first, 250) is True
    assert book.settle(first, 250) is False  # once
    assert charges() == []  # written by the next flush, not by settle
    assert book.flush() == 1
    assert balance(ws) == (750, 350)  # the unused part stays leased until handed back
    book.flush(force_return=True)
    assert balance(ws) == (750, 0) and len(charges()) == 1
    assert CreditLease.objects.count() == 0 and ledger_mismatches() == []


@pytest.mark.django_db
def test_a_hold_the_lease_covers_makes_no_query(workspace, django_assert_num_queries):
    ws, book = workspace.pk, CreditBook(background=False)
    set_balance(ws, 100_000)
    hold(book, ws, "req_first", 100)  # borrows the call's worst case plus headroom
    with django_assert_num_queries(0):
        for i in range(20):
            held = book.try_hold(request_id=f"req_{i}", workspace_id=ws, api_key_id=None, amount=100)
            assert held is not None
            book.settle(held, 3)
    assert book.flush() == 20
    assert balance(ws)[0] == 100_000 - 60 and len(charges()) == 20


@pytest.mark.django_db
def test_a_batch_is_one_transaction_of_few_statements(workspace, django_assert_max_num_queries):
    ws, book = workspace.pk, CreditBook(background=False)
    set_balance(ws, 100_000)
    for i in range(50):
        book.settle(hold(book, ws, f"req_{i}", 100), 7)
    # begin, row locks (account, lease), UPDATE account, UPDATE lease, INSERT (a COPY on
    # PostgreSQL, which the counter does not see), commit; no lookup of existing entries
    with django_assert_max_num_queries(7):
        assert book.flush() == 50
    assert balance(ws)[0] == 100_000 - 350 and ledger_mismatches() == []


@pytest.mark.django_db
def test_headroom_never_refuses_what_one_process_can_pay(workspace):
    """With headroom on, a process near zero still admits exactly what fits."""
    ws, book = workspace.pk, CreditBook(background=False)
    set_balance(ws, 1_000)
    held = [hold(book, ws, f"req_{i}", 100) for i in range(10)]
    with pytest.raises(BillingError):
        hold(book, ws, "req_11", 1)
    assert balance(ws) == (1_000, 1_000)
    for h in held:
        book.settle(h, 0)
    book.flush(force_return=True)
    assert balance(ws) == (1_000, 0) and charges() == []


@pytest.mark.django_db
def test_charge_above_the_hold_never_takes_the_balance_below_zero(workspace, exact):
    ws, book = workspace.pk, CreditBook(background=False)
    set_balance(ws, 1_000)
    big = hold(book, ws, "req_big", 800)
    other = hold(book, ws, "req_other", 100)
    book.settle(big, 5_000)
    book.flush()
    # 800 held + 100 still free; the other call's 100 stays untouched.
    (entry,) = charges()
    assert entry.amount_units == -900 and entry.request_id == "req_big"
    assert balance(ws) == (100, 100)
    book.settle(other, 100)
    book.flush(force_return=True)
    assert balance(ws) == (0, 0) and ledger_mismatches() == []


@pytest.mark.django_db
def test_an_overrun_is_first_taken_from_the_lease(workspace):
    ws, book = workspace.pk, CreditBook(background=False)
    set_balance(ws, 10_000)
    h = hold(book, ws, "req_over", 100)
    book.settle(h, 150)
    book.flush(force_return=True)
    assert charges()[0].amount_units == -150 and balance(ws) == (9_850, 0)


@pytest.mark.django_db
def test_release_writes_no_ledger_entry(workspace):
    ws, book = workspace.pk, CreditBook(background=False)
    before = balance(ws)
    book.settle(hold(book, ws, "req_rel", 50), 0)
    assert book.flush(force_return=True) == 0
    assert balance(ws) == before and charges() == []


@pytest.mark.django_db
def test_a_batch_written_twice_charges_once(workspace):
    """A flush whose commit went through but whose answer was lost is retried:
    the retried charges are looked up and left out."""
    ws, book = workspace.pk, CreditBook(background=False)
    set_balance(ws, 10_000)
    h = hold(book, ws, "req_twice", 100)
    lease_id = h.pool.lease_id
    first = Charge(request_id="req_twice", workspace_id=ws, units=40, covered=40, lease_id=lease_id)
    again = Charge(
        request_id="req_twice", workspace_id=ws, units=40, covered=40, lease_id=lease_id, retried=True
    )
    assert len(charges_post([first]).written) == 1
    assert charges_post([again]).written == []
    assert balance(ws)[0] == 9_960 and len(charges()) == 1 and ledger_mismatches() == []


@pytest.mark.django_db
def test_a_charge_written_before_but_not_marked_retried_fails_its_whole_batch(workspace):
    """The ledger's unique key is the backstop: nothing of the batch is written."""
    ws, book = workspace.pk, CreditBook(background=False)
    set_balance(ws, 10_000)
    lease_id = hold(book, ws, "req_dup", 100).pool.lease_id
    assert len(charges_post([Charge("req_dup", ws, 40, 40, lease_id)]).written) == 1
    with pytest.raises(IntegrityError):
        charges_post([Charge("req_new", ws, 5, 5, lease_id), Charge("req_dup", ws, 40, 40, lease_id)])
    assert balance(ws)[0] == 9_960 and [e.request_id for e in charges()] == ["req_dup"]
    assert ledger_mismatches() == []


@pytest.mark.django_db
def test_a_failed_flush_is_retried_and_charges_once(workspace, monkeypatch):
    """The first write's commit went through but the writer saw an error: the
    batch goes back on the queue marked retried, and the next flush skips what
    was written."""
    ws, book = workspace.pk, CreditBook(background=False)
    set_balance(ws, 10_000)
    book.settle(hold(book, ws, "req_lost_answer", 100), 30)

    def commit_then_fail(batch):
        charges_post(batch)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(writing_module, "charges_post", commit_then_fail)
    with pytest.raises(OperationalError):
        book.flush()
    monkeypatch.undo()
    book.settle(hold(book, ws, "req_next", 100), 20)
    assert book.flush(force_return=True) == 1  # only req_next is new
    assert balance(ws) == (10_000 - 50, 0)
    assert sorted(e.request_id for e in charges()) == ["req_lost_answer", "req_next"]
    assert ledger_mismatches() == [] and reserved_mismatches() == []


@pytest.mark.django_db
def test_key_spend_cap(workspace, api_key, exact):
    ws, book = workspace.pk, CreditBook(background=False)
    KeyLimits.objects.create(api_key_id=api_key.pk, spend_limit_units=1_000, spend_period=SpendPeriod.DAY)
    cap = SpendCap(1_000, SpendPeriod.DAY)
    h1 = hold(book, ws, "r1", 700, key=api_key.pk, cap=cap)
    with pytest.raises(BillingError) as exc:
        hold(book, ws, "r2", 400, key=api_key.pk, cap=cap)
    assert exc.value.code is BillingErrorCode.SPEND_LIMIT_REACHED and "day spend limit" in exc.value.message
    assert balance(ws)[1] == 700  # the refused call left nothing held on the workspace either
    book.settle(h1, 200)
    book.flush(force_return=True)
    spend = KeySpend.objects.get(api_key_id=api_key.pk)
    assert (spend.spent_units, spend.reserved_units) == (200, 0)
    assert spend.period_key == f"day:{timezone.now():%Y-%m-%d}"
    hold(book, ws, "r3", 800, key=api_key.pk, cap=cap)
    with pytest.raises(BillingError):
        hold(book, ws, "r4", 1, key=api_key.pk, cap=cap)
    assert reserved_mismatches() == []


@pytest.mark.django_db
def test_an_idle_lease_goes_back(workspace, settings):
    ws, book = workspace.pk, CreditBook(background=False)
    settings.BILLING_LEASE_IDLE_SECONDS = 60
    book.settle(hold(book, ws, "req_idle", 100), 10)
    book.flush(return_idle=True)
    assert balance(ws)[1] > 0  # not idle long enough
    settings.BILLING_LEASE_IDLE_SECONDS = 0
    book.flush(return_idle=True)
    assert balance(ws)[1] == 0 and CreditLease.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_dead_process_lease_is_handed_back(workspace, exact):
    ws = workspace.pk
    set_balance(ws, 1_000)
    dead = CreditBook(background=False)
    hold(dead, ws, "req_dead", 600)  # the process dies holding it
    assert leases_expire(older_than=timedelta(minutes=10)) == 0  # renewed recently
    CreditLease.objects.update(renewed_at=timezone.now() - timedelta(hours=1))
    assert leases_expire(older_than=timedelta(minutes=10)) == 1
    assert balance(ws) == (1_000, 0) and charges() == []


def _log_row(ws: int, request_id: str, charged: int) -> None:
    RequestLog.objects.create(
        request_id=request_id,
        created_at=timezone.now(),
        workspace_id=ws,
        charged_units=charged,
        status_code=200,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("row_first", [True, False])
def test_a_charge_the_balance_cannot_cover_in_full_corrects_its_log_row(workspace, exact, row_first):
    """An overrun past the balance: the ledger takes what there is (100 of
    201), and the log row ends up saying so, whichever is written first."""
    ws = workspace.pk
    set_balance(ws, 100)
    book = CreditBook(background=False)
    held = hold(book, ws, "req_over", 100)
    if row_first:
        _log_row(ws, "req_over", 201)
    book.settle(held, 201)
    book.flush()
    if not row_first:
        _log_row(ws, "req_over", 201)
        book.flush()
    assert [c.amount_units for c in charges()] == [-100]
    assert RequestLog.objects.get(request_id="req_over").charged_units == 100


def _kill(book: CreditBook) -> None:
    """The process behind ``book`` is gone: its leases stop being renewed."""
    CreditLease.objects.update(renewed_at=timezone.now() - timedelta(hours=1))


@pytest.mark.django_db(transaction=True)
def test_a_live_process_reclaims_a_dead_process_lease_before_refusing_a_call(workspace, exact):
    """No beat: the call that would get a 402 for credit a killed process holds
    hands the dead lease back itself and is served."""
    ws = workspace.pk
    set_balance(ws, 200)
    dead, live = CreditBook(background=False), CreditBook(background=False)
    hold(dead, ws, "req_dead", 194)
    _kill(dead)
    held = hold(live, ws, "req_live", 150)
    assert held.amount == 150 and balance(ws) == (200, 150)
    assert reserved_mismatches() == []


@pytest.mark.django_db(transaction=True)
def test_a_fresh_lease_is_never_reclaimed(workspace, exact):
    ws = workspace.pk
    set_balance(ws, 200)
    alive, other = CreditBook(background=False), CreditBook(background=False)
    hold(alive, ws, "req_alive", 194)
    with pytest.raises(BillingError):
        hold(other, ws, "req_other", 150)
    assert balance(ws) == (200, 194)


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_reclaims_dead_leases_without_beat(workspace, settings, exact):
    ws = workspace.pk
    set_balance(ws, 1_000)
    settings.BILLING_LEASE_RECLAIM_SECONDS = 0
    settings.BILLING_FLUSH_SECONDS = 0.05
    dead, live = CreditBook(background=False), CreditBook()
    hold(dead, ws, "req_dead", 600)
    _kill(dead)
    live._start()
    try:
        deadline = timezone.now() + timedelta(seconds=10)
        while CreditLease.objects.exists() and timezone.now() < deadline:
            threading.Event().wait(0.05)
        assert not CreditLease.objects.exists() and balance(ws) == (1_000, 0)
    finally:
        live.close()


@pytest.mark.django_db(transaction=True)
def test_a_process_whose_lease_was_taken_back_still_charges_correctly(workspace, exact):
    """A live process cut off from the database long enough for its lease to
    expire: its charges are collected from the balance, never from other leases."""
    ws = workspace.pk
    set_balance(ws, 1_000)
    slow, other = CreditBook(background=False), CreditBook(background=False)
    h = hold(slow, ws, "req_slow", 300)
    CreditLease.objects.update(renewed_at=timezone.now() - timedelta(hours=1))
    leases_expire(older_than=timedelta(minutes=10))
    hold(other, ws, "req_other", 500)
    slow.settle(h, 200)
    slow.flush()
    assert balance(ws) == (800, 500) and ledger_mismatches() == [] and reserved_mismatches() == []
    hold(slow, ws, "req_next", 100)  # a new lease
    assert balance(ws) == (800, 600)


# ------------------------------------------------------------ concurrency


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("headroom", [0, 32])
def test_two_processes_never_overdraw_on_postgres(workspace, settings, headroom):
    """Two books (two server processes), 60 threads each with its own
    connection, hold at once against a balance covering exactly 25 calls; then
    all settle and both books flush concurrently."""
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    settings.BILLING_LEASE_CALLS = headroom
    ws = workspace.pk
    set_balance(ws, 25 * 400)
    books = [CreditBook(background=False), CreditBook(background=False)]
    start, decided = threading.Barrier(60), threading.Barrier(60)

    def call(i: int):
        book = books[i % 2]
        try:
            start.wait()
            try:
                held = hold(book, ws, f"req_c{i}", 400)
            except BillingError:
                held = None
            decided.wait()  # every hold decided before anything settles
            if held is not None:
                book.settle(held, 300)
                book.settle(held, 300)  # a duplicate settle changes nothing
                book.flush()
            return held
        finally:
            connections.close_all()

    with ThreadPoolExecutor(60) as pool:
        admitted = [h for h in pool.map(call, range(60)) if h is not None]
    for book in books:
        book.flush(force_return=True)
    if headroom == 0:
        assert len(admitted) == 25  # exact leases: nothing is stranded in the other process
    else:
        assert 0 < len(admitted) <= 25
    n = len(admitted)
    assert balance(ws) == (25 * 400 - n * 300, 0)
    assert len(charges()) == n and ledger_mismatches() == [] and reserved_mismatches() == []
    assert LedgerEntry.objects.filter(kind="charge").values("request_id").distinct().count() == n


@pytest.mark.django_db
def test_a_pool_being_borrowed_into_is_not_forgotten(workspace, monkeypatch):
    """The writer thread tidies the book while a call borrows: the lease it gets
    must stay in the book (or it could never be handed back)."""
    ws, book = workspace.pk, CreditBook(background=False)
    borrow = holding_module.lease_borrow

    def borrow_while_tidying(**kw):
        book.flush(return_idle=True)  # what the writer thread may do meanwhile
        return borrow(**kw)

    monkeypatch.setattr(holding_module, "lease_borrow", borrow_while_tidying)
    book.settle(hold(book, ws, "req_race", 100), 10)
    book.flush(force_return=True)
    assert balance(ws)[1] == 0 and CreditLease.objects.count() == 0


@pytest.mark.django_db
def test_the_writer_tops_up_a_busy_lease_before_calls_must_wait(workspace, django_assert_num_queries):
    ws, book = workspace.pk, CreditBook(background=False)
    set_balance(ws, 1_000_000)
    held = [hold(book, ws, "req_0", 100)]  # leases 100 + 32 x 100 of headroom
    held += [
        book.try_hold(request_id=f"req_{i}", workspace_id=ws, api_key_id=None, amount=100)
        for i in range(1, 21)
    ]
    assert all(held) and held[0].pool.free == 1_200  # below half the headroom
    book.refill()
    assert held[0].pool.free == 1_200 + 1 + 3_200  # one unit to go on with, plus the headroom
    with django_assert_num_queries(0):
        for i in range(21, 60):
            assert book.try_hold(request_id=f"req_{i}", workspace_id=ws, api_key_id=None, amount=100)
    assert reserved_mismatches() == []
