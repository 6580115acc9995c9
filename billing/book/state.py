"""The credit book's state: pools, holds, queued charges, and what the book keeps."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings

from billing.models import SpendPeriod
from billing.services.leases import Charge, PoolRef

logger = logging.getLogger("junction.billing")

FORGET_AFTER_SECONDS = 600.0
LOG_FIX_SECONDS = 120.0
HOLDER = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True, eq=False)
class Pool:
    """What this process has leased from one pool, and how it is used."""

    ref: PoolRef
    lease_id: int | None = None
    leased: int = 0  # units reserved in the database under this process's lease
    held: int = 0  # open holds
    owed: int = 0  # settled charges covered by the lease, not yet written
    generation: int = 0  # bumped when the lease is found gone: older holds no longer count on it
    last_used: float = 0.0  # last hold
    touched: float = 0.0  # last lookup (a pool is forgotten only long after it)
    last_amount: int = 0  # the last hold's size
    spend_rate: float = 0.0  # units/s the lease is used up by written charges (moving average)
    rate_at: float = 0.0
    borrow_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def free(self) -> int:
        return self.leased - self.held - self.owed


@dataclass(frozen=True, slots=True)
class Hold:
    request_id: str
    amount: int
    pool: Pool
    generation: int
    key_pool: Pool | None = None
    key_generation: int = 0


@dataclass(slots=True)
class QueuedCharge:
    """A settled charge waiting for the next flush, and what it took from its pools."""

    charge: Charge
    pool: Pool
    generation: int
    covered: int
    key_pool: Pool | None
    key_generation: int
    key_covered: int


@dataclass(frozen=True, slots=True)
class SpendCap:
    limit_units: int
    period: SpendPeriod | str


class BookState:
    """What every part of the book shares: its pools, open holds and queue, and
    the locks over them. ``CreditBook`` puts the parts together."""

    def __init__(self, *, background: bool = True) -> None:
        self._lock = threading.Lock()  # pools, open holds, queue
        self._flush_lock = threading.Lock()  # one flush at a time
        self._pools: dict[tuple[int, int | None, str], Pool] = {}
        self._open: dict[str, Hold] = {}
        self._queue: list[QueuedCharge] = []
        self._background = background
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_renew = time.monotonic()
        self._last_reclaim = 0.0
        # Charges the ledger took less of than their log row says: request_id -> (units, since).
        self._log_fixes: dict[str, tuple[int, float]] = {}

    @staticmethod
    def _headroom(pool: Pool, call_amount: int) -> int:
        """Spare credit a lease should carry: room for ``BILLING_LEASE_CALLS`` more
        calls of this size, or ``BILLING_LEASE_SECONDS`` of the pool's spending."""
        return max(
            call_amount * settings.BILLING_LEASE_CALLS,
            int(pool.spend_rate * settings.BILLING_LEASE_SECONDS),
        )

    def _lost(self, pool: Pool) -> None:
        """The pool's lease was taken back: nothing it held counts any more."""
        logger.error("credit lease %s of %s was gone; starting a new one", pool.lease_id, pool.ref)
        pool.generation += 1
        pool.lease_id, pool.leased, pool.held, pool.owed = None, 0, 0, 0

    def _start(self) -> None:
        """Start the writer thread (``CreditBook``)."""
        raise NotImplementedError

    def _borrow(self, pool: Pool, amount: int, *, call_amount: int) -> bool:
        """Borrow what ``pool.free`` lacks of ``amount`` (``HoldingMixin``)."""
        raise NotImplementedError
