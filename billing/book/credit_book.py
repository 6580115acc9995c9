"""``CreditBook``: the parts put together, its writer thread, and the process's ``book``."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

from billing.book.holding import HoldingMixin, reclaim_stale
from billing.book.state import logger
from billing.book.writing import WritingMixin


class CreditBook(HoldingMixin, WritingMixin):
    """This process's credit holds (see the package's docstring)."""

    def _start(self) -> None:
        if not self._background or self._thread is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="junction-credit-book", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        interval = settings.BILLING_FLUSH_SECONDS
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self.flush(return_idle=True)
                self.refill()
                if time.monotonic() - self._last_renew >= settings.BILLING_LEASE_RENEW_SECONDS:
                    self._last_renew = time.monotonic()
                    self.renew()
                if time.monotonic() - self._last_reclaim >= settings.BILLING_LEASE_RECLAIM_SECONDS:
                    self._last_reclaim = time.monotonic()
                    reclaim_stale()
            except Exception:
                logger.exception("writing credit charges failed; retrying")
                connection.close()
                self._stop.wait(1.0)
            finally:
                close_old_connections()

    def close(self) -> None:
        """Write everything and hand every unused lease back (server shutdown)."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(10)
            self._thread = None
        self.flush(force_return=True)
        close_old_connections()

    # ------------------------------------------------------------- tests

    def open_holds(self) -> int:
        with self._lock:
            return len(self._open)

    def settled(self, timeout: float = 5.0) -> None:
        """Wait until no call holds credit, then write and return everything
        (again, if the writer thread was topping a lease up meanwhile)."""
        deadline = time.monotonic() + timeout
        while self.open_holds():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.open_holds()} credit holds still open")
            time.sleep(0.01)
        while True:
            self.flush(force_return=True)
            with self._lock:
                if all(pool.lease_id is None for pool in self._pools.values()):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("credit leases still out")
            time.sleep(0.01)

    def reset(self) -> None:
        """Forget everything without writing (tests, after the database was emptied)."""
        with self._flush_lock, self._lock:
            self._pools.clear()
            self._open.clear()
            self._queue.clear()


book = CreditBook()
