"""The credit book: this process's credit holds, kept in memory against leased credit.

Why: holding and settling each call in the database put every call of a
workspace in a queue on its one ``CreditAccount`` row (bench/README.md: 77
req/s at c=16). Instead each server process *leases* a block of a workspace's
available balance (``billing.services.leases.lease_borrow``: the same
conditional UPDATE of ``reserved_units`` that held single calls before) and
holds its calls against that block here:

- ``hold``: the call's worst case fits what the process has leased and not yet
  held or spent -> held, no I/O. Otherwise the process borrows what is missing
  (one transaction, on the thread pool); if the database can't cover even that,
  the call is refused (402) and nothing is held.
- ``settle``: once per hold (a second settle is a no-op). The charge is taken
  from the lease in memory and queued; a background thread writes the queue
  every ``BILLING_FLUSH_SECONDS`` in one transaction (``charges_post``: one
  ledger entry per call with its unique key, one UPDATE per workspace).
- The thread also hands back a pool's unused lease once it has been idle for
  ``BILLING_LEASE_IDLE_SECONDS``, and renews the process's lease rows (the
  heartbeat: every ``BILLING_LEASE_RENEW_SECONDS``). Every process reclaims
  the leases of processes that stopped beating for
  ``BILLING_LEASE_EXPIRY_SECONDS`` (``leases_expire``): its thread every
  ``BILLING_LEASE_RECLAIM_SECONDS``, and a borrow the database refuses first,
  for that workspace. A killed process's credit is back within a minute,
  with or without Celery beat (``billing.expire_leases`` does the same).

Because every lease came out of ``balance - reserved`` under a row lock, the sum
of all processes' holds can never exceed the balance. The price: while one
process has credit leased, another may refuse a call the workspace could pay
for, until the lease goes back (near a zero balance only: a lease takes at most
1/``BILLING_LEASE_SHARE`` of what is free beyond the call that needed it).

A key's spend cap is a second pool of the same kind (``KeySpend`` for the
period), held and settled together with the workspace's.

The package, by concern: ``state.py`` (the pools, holds and queued charges,
and the book's shared state), ``holding.py`` (holding and settling calls,
borrowing), ``writing.py`` (writing charges, handing back and topping up
leases), ``credit_book.py`` (``CreditBook``, its writer thread, and ``book``,
the process's one instance).
"""
