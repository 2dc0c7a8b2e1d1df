"""A rotated-out signing key leaves the JWKS after its grace period, whoever still holds a bundle it signed.

Its own module, so no other distributor's rotation worker runs meanwhile (this one runs only when told), and its
clock is the test's: the grace period is crossed by moving it (and the simulators' clock with it), never by waiting.
"""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

from gateway_simulator.gateway import JwksCache, SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from license_distributor import service
from license_distributor.config import Settings
from license_distributor.main import SPEC
from shared.clock import MovableClock
from shared.db import create_pool
from tests.harness import TestPlatform, admin_count, eventually, free_port, serving_service
from tests.integration.license_distributor.conftest import TenantFeed, gateway_row, wait_registered
from tests.integration.license_distributor.test_signing_keys import (
    ISSUER,
    OPERATOR,
    PHONE,
    _current_bundle,
    _current_kid,
    _held_kids,
    _published,
    _signing_kid,
)

# ---- the grace period -------------------------------------------------------------------------------------------


@dataclass
class ClockedDistributor:
    url: str
    clock: MovableClock
    pool: asyncpg.Pool


@asynccontextmanager
async def clocked_distributor(platform: TestPlatform, *, grace_s: float) -> AsyncIterator[ClockedDistributor]:
    """The distributor on a real socket and on a clock the test moves; its rotation worker only runs when told."""
    clock = MovableClock()
    settings = platform.settings(
        Settings,
        http_port=free_port(),
        expiry_sweep_interval_s=0.2,
        heartbeat_interval_s=0.5,
        identify_timeout_s=3.0,
        rotation_poll_interval_s=3600.0,
        key_grace_s=grace_s,
    )
    pool = await create_pool(dsn=platform.database_url("licensing"), schema="licensing", max_size=4)
    try:
        async with serving_service(SPEC, settings, clock=clock) as url:
            yield ClockedDistributor(url=url, clock=clock, pool=pool)
    finally:
        await pool.close()


@asynccontextmanager
async def clocked_gateway(
    state: GatewayState, store: MemoryStore, *, distributor: ClockedDistributor, http: httpx.AsyncClient
) -> AsyncIterator[SimulatedGateway]:
    """The simulator on the distributor's clock (bundles signed an hour ahead are valid to it)."""
    gateway = SimulatedGateway(
        state=state,
        store=store,
        distributor_url=distributor.url,
        jwks=JwksCache(url=f"{distributor.url}/.well-known/jwks.json", client=http, min_refresh_s=0),
        clock=distributor.clock.now,
        backoff_base_s=0.1,
        backoff_cap_s=0.5,
    )
    task = asyncio.create_task(gateway.run())
    try:
        yield gateway
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_rotated_out_key_leaves_the_jwks_after_its_grace_period_although_a_gateway_stayed_offline_holding_it(
    tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    grace = timedelta(hours=1)
    async with clocked_distributor(platform, grace_s=grace.total_seconds()) as distributor:
        await tenant.runway(depletes_in=None, balance=10**12)
        online, offline = GatewayState.generate(phones=0), GatewayState.generate(phones=0)
        # Two domains of one account: a change in the first leaves the second's bundle as it is.
        await tenant.create_domain()
        await tenant.register(online)
        first_domain = tenant.domain_id
        tenant.domain_id = str(uuid.uuid4())
        await tenant.create_domain()
        await tenant.register(offline)
        for state in (online, offline):
            await wait_registered(platform, state.hwid)
        stores = {online.hwid: MemoryStore(), offline.hwid: MemoryStore()}
        old = await _signing_kid(platform)
        # The offline one was online once, accepted its bundle, and went away.
        async with clocked_gateway(offline, stores[offline.hwid], distributor=distributor, http=http) as gateway:
            assert await eventually(functools.partial(_current_kid, gateway), until=lambda k: k == old)
            await eventually(
                functools.partial(gateway_row, platform, offline.hwid),
                until=lambda r: r is not None and r["acked_seq"] >= 1,
            )
        async with clocked_gateway(online, stores[online.hwid], distributor=distributor, http=http) as connected:
            assert await eventually(functools.partial(_current_kid, connected), until=lambda k: k == old)
            rotation = await service.request_key_rotation(
                distributor.pool, principal=OPERATOR, idempotency_key=None, now=distributor.clock.now(), grace=grace
            )
            new = rotation.kid
            # Only the connected gateway's domain changes (a phone rented there): its bundle is signed by the new
            # key and acknowledged; the offline gateway's domain waits for the rotation worker, which is not run.
            tenant.domain_id = first_domain
            await tenant.rent(PHONE)
            assert await eventually(functools.partial(_current_kid, connected), until=lambda k: k == new)
            current = connected.current
            assert current is not None
            await eventually(
                functools.partial(gateway_row, platform, online.hwid),
                until=lambda r: r is not None and r["acked_seq"] == current.seq,
            )
            assert (await _held_kids(platform, [offline.hwid]))[offline.hwid] == old
            assert {old, new} <= await _published(http, distributor.url)

            # Just before the grace ends the old key is still published; just after, it is not, although the
            # offline gateway still holds (and enforces) a bundle signed by it.
            distributor.clock.advance(grace - timedelta(seconds=5))
            assert {old, new} <= await _published(http, distributor.url)
            distributor.clock.advance(timedelta(seconds=10))
            published = await _published(http, distributor.url)
            assert old not in published
            assert new in published

            # The offline gateway comes back: what it holds is signed by a key no longer published, so it is not
            # current; it is handed its bundle re-signed with the new key, above the seq it holds.
            held_seq = await admin_count(
                platform, "SELECT acked_seq FROM licensing.gateway WHERE hwid = $1 AND removed_at IS NULL", offline.hwid
            )
            store = stores[offline.hwid]
            async with clocked_gateway(store.states[offline.hwid], store, distributor=distributor, http=http) as back:
                bundle = await eventually(
                    functools.partial(_current_bundle, back), until=lambda b: b is not None and b.kid == new
                )
                assert bundle is not None
                assert bundle.seq > held_seq
                await eventually(
                    functools.partial(gateway_row, platform, offline.hwid),
                    until=lambda r: r is not None and r["acked_seq"] > held_seq,
                )
            assert old not in await _published(http, distributor.url)
        # Leave no rotation pending for the other tests' distributors (their workers would finish it anyway).
        while (
            await service.resign_next_batch(
                distributor.pool, now=distributor.clock.now(), issuer=ISSUER, max_domains=64
            )
            is not None
        ):
            pass


async def _frame(ws: ClientConnection, kind: str) -> dict[str, object]:
    """The next frame of this type from the distributor (within 10 s), skipping others."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if frame["type"] == kind:
            assert isinstance(frame, dict)
            return frame


async def test_after_its_grace_a_rotated_out_key_stays_published_only_while_a_connected_gateway_has_not_acked(
    tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    grace = timedelta(hours=1)
    async with clocked_distributor(platform, grace_s=grace.total_seconds()) as distributor:
        state = GatewayState.generate(phones=0)
        await tenant.create_domain()
        await tenant.register(state)
        await wait_registered(platform, state.hwid)
        old = (await _held_kids(platform, [state.hwid]))[state.hwid]
        ws_url = distributor.url.replace("http://", "ws://") + "/v1/gateways/connect"
        # A gateway that holds its first bundle, stays connected, and will not acknowledge the next one yet.
        async with connect(ws_url) as ws:
            nonce = str((await _frame(ws, "challenge"))["nonce"])
            identify = {"type": "identify", "hwid": state.hwid, "product": state.product, "version": "t", "seq": 1}
            await ws.send(json.dumps({**identify, "signature": state.sign_challenge(nonce)}))
            await _frame(ws, "welcome")
            rotation = await service.request_key_rotation(
                distributor.pool, principal=OPERATOR, idempotency_key=None, now=distributor.clock.now(), grace=grace
            )
            while (
                await service.resign_next_batch(
                    distributor.pool, now=distributor.clock.now(), issuer=ISSUER, max_domains=64
                )
                is not None
            ):
                pass
            pushed = await _frame(ws, "bundle")
            assert pushed["seq"] == 2
            assert (await _held_kids(platform, [state.hwid]))[state.hwid] == rotation.kid

            distributor.clock.advance(grace + timedelta(seconds=10))
            # Past the grace, the one gateway that is connected and still holds only the old key's bundle keeps it
            # published (once its replica has beaten on the moved clock)...
            assert await eventually(
                functools.partial(_published, http, distributor.url), until=lambda kids: {old, rotation.kid} <= kids
            )
            # ...until it acknowledges the new one.
            await ws.send(json.dumps({"type": "ack", "seq": 2}))
            published = await eventually(
                functools.partial(_published, http, distributor.url), until=lambda kids: old not in kids
            )
            assert rotation.kid in published
