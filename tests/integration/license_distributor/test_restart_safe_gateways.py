"""Issue 14, the gateway side, on real servers with the real simulator: seq and floor (a dropped bundle comes back,
a floor above the current seq is re-issued above it, old gateways still work), and the wallet's warning ladder
raised offline at its signed instants. Restarts and leases: test_own_distributor_restarts_and_leases.py."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from websockets.asyncio.client import connect

from gateway_simulator.gateway import JwksCache, SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from gateway_simulator.verifier import AcceptedBundle, verify_bundle
from tests.harness import TestPlatform, eventually, free_port, running_gateway
from tests.integration.license_distributor.conftest import (
    Distributor,
    TenantFeed,
    current_seq,
    enrolled,
    renting,
    value_of,
)


async def test_a_gateway_that_dropped_its_bundle_gets_it_back_on_reconnect_above_its_floor(
    distributor: Distributor, platform: TestPlatform, tenant: TenantFeed, http: httpx.AsyncClient
) -> None:
    state = await renting(tenant, platform)
    phone = state.phones[0].hwid
    async with running_gateway(state, distributor_url=distributor.url, client=http) as gateway:
        await eventually(lambda: value_of(gateway.phones_running()), until=lambda p: p == [phone])
        held = gateway.held_seq
        assert held == await current_seq(platform, state.hwid)
        # A reboot drops a running bundle (its phones stop) and the session: it identifies with seq 0, floor `held`.
        gateway.reboot("power_cycle")
        assert gateway.phones_running() == []
        # The current bundle is not above its floor, so it is re-issued under the next seq: the phone runs again.
        await eventually(lambda: value_of(gateway.phones_running()), until=lambda p: p == [phone], within=5)
        assert gateway.held_seq == held + 1
        assert gateway.state.highest_seq == held + 1
        assert gateway.stats.rejected == []
        assert await current_seq(platform, state.hwid) == held + 1


async def _identify(
    distributor: Distributor, state: GatewayState, **seqs: int
) -> tuple[list[dict[str, object]], AcceptedBundle | None]:
    """One raw session: identify with these seq fields; what the distributor sent until it fell silent, and the
    bundle among it, verified against its JWKS with the floor the gateway gave."""
    async with connect(distributor.ws_url) as ws:
        challenge = json.loads(await ws.recv())
        identify = {"type": "identify", "hwid": state.hwid, "product": state.product, "version": "t", **seqs}
        identify["signature"] = state.sign_challenge(challenge["nonce"])
        await ws.send(json.dumps(identify))
        messages = [json.loads(await ws.recv())]
        assert messages[0]["type"] == "welcome"
        try:
            while True:
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=1.0)))
        except TimeoutError:
            pass
    bundles = [m for m in messages if m["type"] == "bundle"]
    if not bundles:
        return messages, None
    async with httpx.AsyncClient() as http:
        jwks = (await http.get(f"{distributor.url}/.well-known/jwks.json")).json()
    floor = seqs.get("floor", seqs["seq"])
    jws = bundles[-1]["jws"]
    assert isinstance(jws, str)
    return messages, verify_bundle(jws, jwks=jwks, hwid=state.hwid, highest_seq=floor, now=datetime.now(UTC))


async def test_a_floor_above_the_current_seq_gets_the_bundle_re_issued_above_it_and_old_gateways_still_work(
    distributor: Distributor, platform: TestPlatform, tenant: TenantFeed
) -> None:
    state = await renting(tenant, platform)
    current = await eventually(lambda: current_seq(platform, state.hwid), until=lambda seq: seq >= 2)

    # Holding the current bundle (old protocol, seq only): welcomed, nothing sent.
    messages, bundle = await _identify(distributor, state, seq=current)
    assert [m["type"] for m in messages] == ["welcome"]
    # Old protocol, an older seq: the current bundle, as before.
    messages, bundle = await _identify(distributor, state, seq=current - 1)
    assert bundle is not None
    assert bundle.seq == current
    # Holding nothing, but it once accepted seq current + 5 (a distributor restored from an older backup, say):
    # the current content under seq current + 6, which it accepts.
    messages, bundle = await _identify(distributor, state, seq=0, floor=current + 5)
    assert bundle is not None
    assert bundle.seq == current + 6
    assert [d.hwid for d in bundle.devices] == [state.phones[0].hwid]
    assert await current_seq(platform, state.hwid) == current + 6
    # Holding that one: nothing more.
    messages, _ = await _identify(distributor, state, seq=current + 6, floor=current + 6)
    assert [m["type"] for m in messages] == ["welcome"]
    # An old gateway whose seq is above ours (seq only: its floor is its seq) is re-issued above it too.
    messages, bundle = await _identify(distributor, state, seq=current + 9)
    assert bundle is not None
    assert bundle.seq == current + 10


async def test_the_wallets_warnings_are_signed_in_and_raised_offline_at_their_instants(
    distributor: Distributor, platform: TestPlatform, tenant: TenantFeed, http: httpx.AsyncClient
) -> None:
    state = GatewayState.generate(phones=1)
    phone = state.phones[0].hwid
    await enrolled(tenant, platform, state)
    # Whole seconds, as they are signed: two warnings a couple of seconds ahead, in real time.
    now = datetime.now(UTC).replace(microsecond=0)
    ladder = [now + timedelta(seconds=5), now + timedelta(seconds=6)]
    depletes_at = await tenant.runway(depletes_in=timedelta(minutes=10), warnings_at=ladder)
    assert depletes_at is not None
    await tenant.rent(phone)
    store = MemoryStore()
    async with running_gateway(state, distributor_url=distributor.url, client=http, store=store) as gateway:
        bundle = await eventually(
            lambda: value_of(gateway.current), until=lambda b: b is not None and bool(b.devices), within=5
        )
        assert bundle is not None
        assert bundle.warnings_at == tuple(ladder)
        left = [w.time_left_s for w in bundle.warnings]
        assert left == [int((depletes_at.replace(microsecond=0) - at).total_seconds()) for at in ladder]
    assert gateway.stats.warnings == []  # none was due yet: it went offline before the first

    # Offline from here on: a gateway restored from its store, with no session, raises them from the bundle alone.
    offline = SimulatedGateway(
        state=store.states[state.hwid],
        store=store,
        distributor_url=f"http://127.0.0.1:{free_port()}",
        jwks=JwksCache(url=f"http://127.0.0.1:{free_port()}/.well-known/jwks.json", client=http),
    )
    await offline.restore()
    assert offline.phones_running() == [phone]
    await eventually(lambda: value_of(len(offline.stats.warnings)), until=lambda n: n == 2, within=10)
    for raised, at in zip(offline.stats.warnings, ladder, strict=True):
        assert raised.at == at
        late = (raised.raised_at - at).total_seconds()
        assert 0 <= late < 0.5, f"raised {late:.3f} s after its instant"
    shown = offline.warning_shown()
    assert shown is not None
    assert shown.at == ladder[-1]
    assert offline.phones_running() == [phone]
    offline.shut_down()


async def test_an_empty_ladder_signs_no_warnings(
    distributor: Distributor, platform: TestPlatform, tenant: TenantFeed, http: httpx.AsyncClient
) -> None:
    state = await renting(tenant, platform, depletes_in=timedelta(weeks=10))
    async with running_gateway(state, distributor_url=distributor.url, client=http) as gateway:
        bundle = await eventually(
            lambda: value_of(gateway.current), until=lambda b: b is not None and bool(b.devices), within=5
        )
        assert bundle is not None
        # Ten weeks of credit, no ladder announced: none of the seven weekly warnings of old.
        assert bundle.warnings == ()
        assert uuid.UUID(bundle.domain) == uuid.UUID(tenant.domain_id)


async def test_the_http_pull_says_seq_and_floor_as_the_websocket_does(
    distributor: Distributor, platform: TestPlatform, tenant: TenantFeed, http: httpx.AsyncClient
) -> None:
    state = await renting(tenant, platform)
    current = await eventually(lambda: current_seq(platform, state.hwid), until=lambda seq: seq >= 2)

    async def pull(**headers: int) -> httpx.Response:
        nonce = (await http.post(f"{distributor.url}/v1/gateways/{state.hwid}/challenge")).json()["nonce"]
        sent = {"X-Gateway-Nonce": nonce, "X-Gateway-Signature": state.sign_challenge(nonce)}
        return await http.get(
            f"{distributor.url}/v1/gateways/{state.hwid}/bundle",
            headers={**sent, **{f"X-Gateway-{name.title()}": str(value) for name, value in headers.items()}},
        )

    assert (await pull(seq=current)).status_code == 204
    assert (await pull(seq=current, floor=current)).status_code == 204
    # It dropped the current bundle after accepting it: the same content under the next seq.
    pulled = await pull(seq=0, floor=current)
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["seq"] == current + 1
    jwks = (await http.get(f"{distributor.url}/.well-known/jwks.json")).json()
    bundle = verify_bundle(pulled.json()["jws"], jwks=jwks, hwid=state.hwid, highest_seq=current, now=datetime.now(UTC))
    assert [d.hwid for d in bundle.devices] == [state.phones[0].hwid]
