"""Concurrent cache misses share one load (SingleFlight, and the catalog snapshot that uses it)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.catalog import snapshot
from gateway.singleflight import SingleFlight


async def test_concurrent_calls_share_one_load_and_its_error():
    flight: SingleFlight[int] = SingleFlight()
    started = 0
    release = asyncio.Event()

    async def load() -> int:
        nonlocal started
        started += 1
        await release.wait()
        return 42

    calls = [asyncio.ensure_future(flight.run("k", load)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*calls) == [42] * 5
    assert started == 1
    assert await flight.run("k", load) == 42 and started == 2  # done: the next call loads again

    async def failing() -> int:
        raise RuntimeError("database down")

    results = await asyncio.gather(*(flight.run("k", failing) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_a_caller_going_away_does_not_cancel_the_others_load():
    flight: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()

    async def load() -> str:
        await release.wait()
        return "ok"

    first = asyncio.ensure_future(flight.run("k", load))
    second = asyncio.ensure_future(flight.run("k", load))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == "ok"
    with pytest.raises(asyncio.CancelledError):
        await first


@pytest.mark.django_db(transaction=True)
async def test_catalog_misses_share_one_reload_and_invalidation_wins(monkeypatch, settings, catalog):
    settings.CATALOG_TTL = 60.0
    loads = 0
    real = snapshot.load_catalog

    def counting():
        nonlocal loads
        loads += 1
        return real()

    monkeypatch.setattr(snapshot, "load_catalog", counting)
    snapshot.invalidate_catalog()
    catalogs = await asyncio.gather(*(snapshot.get_catalog() for _ in range(8)))
    assert loads == 1 and all(c is catalogs[0] for c in catalogs)
    assert await snapshot.get_catalog() is catalogs[0]  # fresh: no reload

    def invalidated_meanwhile():
        catalog = counting()
        snapshot.invalidate_catalog()  # e.g. the catalog was edited while this load ran
        return catalog

    monkeypatch.setattr(snapshot, "load_catalog", invalidated_meanwhile)
    snapshot.invalidate_catalog()
    await snapshot.get_catalog()
    monkeypatch.setattr(snapshot, "load_catalog", counting)
    await snapshot.get_catalog()
    assert loads == 3  # what the invalidated load read was not kept


@pytest.mark.parametrize("which", ["routing", "firewall"])
async def test_routing_and_firewall_caches_share_one_load_and_invalidation_wins(which, monkeypatch):
    """The per-workspace routing-rule and firewall caches, like the catalog."""
    from firewall import runtime
    from routing_rules import selectors

    loads = 0
    forget_during_load = False

    def loader(workspace_id: int) -> object:
        nonlocal loads
        loads += 1
        if forget_during_load:
            invalidate(workspace_id)  # e.g. a rule or policy changed while this load ran
        return object()

    if which == "routing":
        cache = selectors.WorkspaceCache(loader)
        get, invalidate = cache.get, cache.invalidate
    else:
        monkeypatch.setattr(runtime, "_load", loader)
        monkeypatch.setattr(runtime, "_shared", lambda: False)
        cache = runtime.EngineCache()
        get, invalidate = cache.get, cache.forget
    values = await asyncio.gather(*(get(7) for _ in range(8)))
    assert loads == 1 and all(v is values[0] for v in values)
    assert await get(7) is values[0]  # fresh: no load
    invalidate(7)
    forget_during_load = True
    await get(7)
    forget_during_load = False
    assert loads == 2
    await get(7)
    assert loads == 3  # what the invalidated load read was not kept
