"""Issue 14, the gateway side, with a distributor of the test's own (the only one consuming, so the test decides
when it is down and what its lease and clock are): a gateway restarted while it is down, and leases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx

from gateway_simulator.gateway import JwksCache, SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from shared.clock import MovableClock
from tests.harness import TestPlatform, eventually, free_port, running_gateway
from tests.integration.license_distributor.conftest import (
    TenantFeed,
    current_seq,
    renting,
    serving_distributor,
    value_of,
)


async def test_a_gateway_restarted_while_the_distributor_is_down_keeps_its_phones_and_is_current_within_a_second(
    platform: TestPlatform, tenant: TenantFeed, http: httpx.AsyncClient
) -> None:
    port = free_port()
    store = MemoryStore()
    async with serving_distributor(platform, http_port=port) as distributor:
        state = await renting(tenant, platform)
        first, second = (p.hwid for p in state.phones)
        async with running_gateway(state, distributor_url=distributor.url, client=http, store=store) as gateway:
            await eventually(lambda: value_of(gateway.phones_running()), until=lambda p: p == [first])
            held = gateway.held_seq
    # The distributor is down; meanwhile the tenant rents the second phone (the event waits in its queue).
    await tenant.rent(first, second)
    stored = store.states[state.hwid]
    async with running_gateway(stored, distributor_url=f"http://127.0.0.1:{port}", client=http, store=store) as again:
        # Restored from disk, keys included: its phones run although neither the distributor nor its JWKS answers.
        await eventually(lambda: value_of(again.phones_running()), until=lambda p: p == [first])
        assert not again.connected
        assert again.held_seq == held
        assert again.stats.connects == 0
        assert again.phones_running() == [first]

        async with serving_distributor(platform, http_port=port):
            loop = asyncio.get_running_loop()
            back = loop.time()
            current = await eventually(
                lambda: current_seq(platform, state.hwid), until=lambda seq: seq > held, within=5
            )
            await eventually(lambda: value_of(again.held_seq), until=lambda seq: seq == current, within=5)
            took = loop.time() - back
            assert took < 1.0, f"current {took:.2f} s after the distributor came back"
            assert sorted(again.phones_running()) == sorted([first, second])
            assert again.stats.rejected == []


@asynccontextmanager
async def _gateway_on(
    clock: MovableClock, state: GatewayState, store: MemoryStore, *, url: str, http: httpx.AsyncClient, run: bool
) -> AsyncIterator[SimulatedGateway]:
    """The simulator on `clock` (the distributor's): connected if `run`, else only restored from its store."""
    gateway = SimulatedGateway(
        state=state,
        store=store,
        distributor_url=url,
        jwks=JwksCache(url=f"{url}/.well-known/jwks.json", client=http, min_refresh_s=0),
        clock=clock.now,
        backoff_base_s=0.1,
        backoff_cap_s=0.5,
    )
    task = asyncio.create_task(gateway.run()) if run else None
    if task is None:
        await gateway.restore()
    try:
        yield gateway
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        gateway.shut_down()


async def test_the_lease_bounds_exp_a_connected_gateway_is_renewed_at_half_and_an_offline_one_stops_at_its_end(
    platform: TestPlatform, tenant: TenantFeed, http: httpx.AsyncClient
) -> None:
    clock = MovableClock()
    lease = timedelta(seconds=60)
    store = MemoryStore()
    async with serving_distributor(platform, clock=clock, lease_s=lease.total_seconds()) as distributor:
        state = await renting(tenant, platform, depletes_in=timedelta(hours=1))
        phone = state.phones[0].hwid
        async with _gateway_on(clock, state, store, url=distributor.url, http=http, run=True) as gateway:
            first = await eventually(
                lambda: value_of(gateway.current), until=lambda b: b is not None and bool(b.devices), within=5
            )
            assert first is not None
            # The run-out is an hour away: the lease ends first, and `exp` is its end.
            assert first.lease_ends_at == first.issued_at + lease
            assert first.expires_at == first.lease_ends_at

            # Half the lease left: the distributor's job renews it and pushes it to the connected gateway.
            clock.advance(lease / 2 + timedelta(seconds=1))
            renewed = await eventually(
                lambda: value_of(gateway.current), until=lambda b: b is not None and b.seq > first.seq, within=5
            )
            assert renewed is not None
            assert renewed.issued_at >= first.issued_at + lease / 2
            assert renewed.lease_ends_at == renewed.issued_at + lease
            assert renewed.expires_at == renewed.lease_ends_at
            assert [d.hwid for d in renewed.devices] == [phone]
            assert gateway.stats.reboot_reasons == []
        # It goes offline holding the renewed bundle: it runs to its lease's end, and not a second more.
        async with _gateway_on(
            clock, store.states[state.hwid], store, url=f"http://127.0.0.1:{free_port()}", http=http, run=False
        ) as offline:
            assert offline.phones_running() == [phone]
            assert renewed.lease_ends_at is not None
            clock.advance(renewed.lease_ends_at - clock.now())
            await eventually(lambda: value_of(offline.stats.reboot_reasons), until=lambda r: r == ["rental_expired"])
            assert offline.phones_running() == []
            run = offline.stats.runs[-1]
            assert run.end is not None
            assert run.end <= renewed.lease_ends_at
