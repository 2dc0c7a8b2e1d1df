"""Issue 14, the gateway side, with a distributor of the test's own (the only one consuming, so the test decides
when it is down and what its lease and clock are): a gateway restarted while it is down, leases, and a key that
leaves the JWKS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import httpx

from gateway_simulator.gateway import JwksCache, SimulatedGateway, published_kids
from gateway_simulator.identity import GatewayState, MemoryStore
from gateway_simulator.verifier import BundleRejected, Rejection
from shared.clock import MovableClock
from shared.events.provisioning import GatewayRemoved
from tests.harness import TestPlatform, admin_count, eventually, free_port, running_gateway
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
    # It retries every 0.1-0.2 s (a site gateway whose link just came back): the second is the distributor's.
    async with running_gateway(
        stored,
        distributor_url=f"http://127.0.0.1:{port}",
        client=http,
        store=store,
        backoff_base_s=0.05,
        backoff_cap_s=0.2,
    ) as again:
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


async def _remove_every_live_gateway(platform: TestPlatform, tenant: TenantFeed) -> None:
    """Every live gateway of the database removed: the JWKS keeps a key while any live gateway holds its bundle."""
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        rows = await conn.fetch(
            "SELECT id, domain_id, account_id, hwid, product FROM licensing.gateway WHERE removed_at IS NULL"
        )
    finally:
        await conn.close()
    for row in rows:
        await tenant.publisher.publish(
            GatewayRemoved(
                gateway_id=row["id"],
                domain_id=row["domain_id"],
                account_id=row["account_id"],
                hwid=row["hwid"],
                product=row["product"],
            )
        )
    await eventually(
        lambda: admin_count(platform, "SELECT count(*) FROM licensing.gateway WHERE removed_at IS NULL"),
        until=lambda n: n == 0,
    )


def _rejection(gateway: SimulatedGateway, jws: str) -> Awaitable[Rejection]:
    async def offered() -> Rejection:
        try:
            await gateway.offer(jws)
        except BundleRejected as rejected:
            return rejected.reason
        raise AssertionError("the bundle was accepted")

    return offered()


async def test_a_bundle_signed_by_a_key_that_left_the_jwks_is_refused_connected_and_after_a_restart(
    platform: TestPlatform, tenant: TenantFeed, http: httpx.AsyncClient
) -> None:
    # The key leaves the JWKS at once by its revocation, after a rotation replaced it (otherwise it would stay
    # published for its grace period). The gateway side does not care why a key is gone: gone is no longer trusted.
    async with serving_distributor(platform) as distributor:
        await _remove_every_live_gateway(platform, tenant)
        state = await renting(tenant, platform)
        store = MemoryStore()

        async def published() -> set[str]:
            jwks = (await http.get(f"{distributor.url}/.well-known/jwks.json")).json()
            return {str(k["kid"]) for k in jwks["keys"]}

        async with running_gateway(state, distributor_url=distributor.url, client=http, store=store) as gateway:
            old = await eventually(
                lambda: value_of(gateway.current), until=lambda b: b is not None and bool(b.devices), within=5
            )
            assert old is not None
            # While its key is trusted, the old bundle is refused only as a replay.
            assert await _rejection(gateway, old.jws) == Rejection.STALE_SEQ
            rotated = await http.post(f"{distributor.url}/v1/signing-keys/rotation", headers=platform.auth("operator"))
            assert rotated.status_code == 202, rotated.text
            new_kid = rotated.json()["kid"]
            await eventually(lambda: value_of(gateway.current), until=lambda b: b is not None and b.kid == new_kid)
            # Before the old key left: what a gateway restarted now would come back trusting.
            trusting_both = store.states[state.hwid]
            assert trusting_both.trusted_keys is not None
            # (Other tests' rotated-out keys may still be published within their grace period: the database is shared.)
            assert {old.kid, new_kid} <= published_kids(trusting_both.trusted_keys)
            revoked = await http.post(
                f"{distributor.url}/v1/signing-keys/{old.kid}/revocation",
                headers={**platform.auth("operator"), "Idempotency-Key": f"revoke-{old.kid}"},
            )
            assert revoked.status_code == 200, revoked.text
            now_published = await published()
            assert new_kid in now_published
            assert old.kid not in now_published
            # Connected: refused for its key, at the next bundle's fetch of the JWKS.
            assert await _rejection(gateway, old.jws) == Rejection.UNKNOWN_KEY
            assert gateway.current is not None
            assert gateway.current.kid == new_kid
            assert gateway.phones_running() == [state.phones[0].hwid]

        # Restarted from a state that still trusted both keys: it re-fetches before trusting anything.
        async with running_gateway(
            trusting_both, distributor_url=distributor.url, client=http, store=MemoryStore()
        ) as again:
            await eventually(lambda: value_of(again.phones_running()), until=lambda p: p == [state.phones[0].hwid])
            assert await _rejection(again, old.jws) == Rejection.UNKNOWN_KEY
