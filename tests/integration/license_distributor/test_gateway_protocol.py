"""The distributor over real WebSockets, Postgres and RabbitMQ, with simulated gateways as its clients."""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from gateway_simulator.verifier import AcceptedBundle, verify_bundle
from tests.harness import TestPlatform, admin_count, admin_fetch, eventually, running_gateway
from tests.integration.license_distributor.conftest import (
    Distributor,
    TenantFeed,
    enrolled,
    gateway_row,
    registered_gateways,
    serving_distributor,
    wait_registered,
)

T = TypeVar("T")
PHONE = "00aa11bb22cc"
OTHER_PHONE = "00aa11bb22dd"


async def test_a_connected_gateway_gets_a_bundle_with_the_phone_and_the_run_out_within_a_second_of_an_activation(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    state = GatewayState.generate(phones=0)
    await enrolled(tenant, platform, state)
    async with running_gateway(state, distributor_url=distributor.url, client=http) as gateway:
        await eventually(lambda: _true(gateway.connected))
        first = await eventually(lambda: _value(gateway.current), until=lambda b: b is not None)
        assert first is not None
        assert first.devices == ()
        assert first.expires_at is None

        depletes_at = await tenant.runway(depletes_in=timedelta(seconds=30))
        await tenant.rent(PHONE)
        loop = asyncio.get_running_loop()
        started = loop.time()
        bundle = await eventually(
            lambda: _value(gateway.current), until=lambda b: b is not None and bool(b.devices), within=5
        )
        assert loop.time() - started < 1.0
        assert bundle is not None
        assert [d.hwid for d in bundle.devices] == [PHONE]
        assert depletes_at is not None
        assert bundle.expires_at == depletes_at.replace(microsecond=0)
        assert bundle.licences == (("PORT", 1),)
        # The gateway acknowledged it and the distributor recorded the ack.
        await eventually(
            lambda: gateway_row(platform, state.hwid), until=lambda r: r is not None and r["acked_seq"] == bundle.seq
        )
        assert gateway.stats.rejected == []


async def test_every_connect_is_announced_as_gateway_reconnected_with_the_seq_held(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    state = GatewayState.generate(phones=0)
    gateway_id = await enrolled(tenant, platform, state)
    store = MemoryStore()
    for _ in range(2):
        async with running_gateway(state, distributor_url=distributor.url, client=http, store=store) as gateway:
            await eventually(lambda: _true(gateway.stats.connects >= 1 and gateway.state.highest_seq >= 1))
        state = store.states[state.hwid]
    reconnects = await eventually(
        lambda: admin_count(
            platform,
            """SELECT count(*) FROM licensing.outbox_message
               WHERE event_type = 'GatewayReconnected' AND subject = $1""",
            str(gateway_id),
        ),
        until=lambda n: n >= 2,
    )
    assert reconnects == 2


async def test_a_gateway_offline_during_three_changes_gets_only_the_latest_bundle_and_a_current_one_gets_none(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    state = GatewayState.generate(phones=0)
    await enrolled(tenant, platform, state)
    await tenant.runway(depletes_in=timedelta(hours=1))
    store = MemoryStore()
    async with running_gateway(state, distributor_url=distributor.url, client=http, store=store) as gateway:
        await eventually(lambda: _true(gateway.state.highest_seq >= 1))
    held = store.states[state.hwid].highest_seq
    before = await gateway_row(platform, state.hwid)
    assert before is not None

    # Three changes while it is offline: each is a new bundle.
    await tenant.rent(PHONE)
    await tenant.rent(PHONE, OTHER_PHONE)
    await tenant.rent(OTHER_PHONE)
    row = await eventually(
        lambda: gateway_row(platform, state.hwid), until=lambda r: r is not None and r["current_seq"] == held + 3
    )
    assert row is not None

    async with running_gateway(
        store.states[state.hwid], distributor_url=distributor.url, client=http, store=store
    ) as gateway:
        await eventually(lambda: _true(gateway.state.highest_seq == held + 3))
        assert gateway.stats.accepted == [held + 3]
        assert [d.hwid for d in gateway.current.devices] == [OTHER_PHONE]  # type: ignore[union-attr]

    # Reconnecting while current: welcomed, and no bundle at all.
    async with running_gateway(
        store.states[state.hwid], distributor_url=distributor.url, client=http, store=store
    ) as gateway:
        await eventually(lambda: _true(gateway.stats.connects >= 1))
        await asyncio.sleep(0.5)  # a bundle would have followed the welcome at once; give it the chance
        assert gateway.stats.accepted == []


@pytest.mark.usefixtures("distributor")
async def test_a_rebuild_that_changes_nothing_issues_no_new_seq_and_an_old_version_is_ignored(
    tenant: TenantFeed, platform: TestPlatform
) -> None:
    state, _ = await _renting_gateway(tenant, platform, depletes_in=timedelta(hours=2))
    row = await _second_bundle(platform, state)
    # The same rental again under a newer version, and an older version with something else: no new bundle.
    await tenant.rent(PHONE)
    await tenant.rent(OTHER_PHONE, version=1)
    # A marker change behind them proves both were handled before it.
    await tenant.rent(PHONE, OTHER_PHONE)
    row = await eventually(
        lambda: gateway_row(platform, state.hwid), until=lambda r: r is not None and r["current_seq"] >= 3
    )
    assert row is not None
    assert row["current_seq"] == 3


@pytest.mark.parametrize("case", ["bad_signature", "unknown_gateway"])
async def test_an_identify_with_a_bad_signature_or_an_unknown_hardware_id_is_refused_and_the_socket_closed(
    distributor: Distributor, tenant: TenantFeed, platform: TestPlatform, case: str
) -> None:
    state = GatewayState.generate(phones=0)
    impostor = GatewayState.generate(phones=0)
    if case == "bad_signature":
        await enrolled(tenant, platform, state)
    async with connect(distributor.ws_url) as ws:
        challenge = json.loads(await ws.recv())
        assert challenge["type"] == "challenge"
        assert challenge["nonce"]
        # Signed with another key (bad signature), or a hardware id nobody registered (unknown gateway).
        signer = impostor if case == "bad_signature" else state
        await ws.send(
            json.dumps(
                {
                    "type": "identify",
                    "hwid": state.hwid,
                    "product": state.product,
                    "version": "t",
                    "seq": 0,
                    "signature": signer.sign_challenge(challenge["nonce"]),
                }
            )
        )
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    assert closed.value.rcvd.reason == case


async def test_depletion_orders_a_reboot_and_leaves_a_bundle_without_devices_or_expiry(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    state, phone = await _renting_gateway(tenant, platform, depletes_in=timedelta(seconds=2), phones=1)
    async with running_gateway(state, distributor_url=distributor.url, client=http) as gateway:
        await eventually(lambda: _value(gateway.phones_running()), until=lambda p: p == [phone], within=5)
        # At the run-out: the gateway reboots (by itself and/or told by the distributor), the phone stops.
        await eventually(lambda: _value(gateway.phones_running()), until=lambda p: p == [], within=5)
        await eventually(lambda: _value(gateway.stats.reboot_reasons), until=lambda r: "rental_expired" in r)
        last = await eventually(
            lambda: _value(gateway.current), until=lambda b: b is not None and b.devices == (), within=5
        )
        assert last is not None
        assert last.expires_at is None


async def test_a_gateway_reboots_at_expiry_even_while_disconnected(
    platform: TestPlatform, tenant: TenantFeed, http: httpx.AsyncClient
) -> None:
    state, phone = await _renting_gateway(tenant, platform, depletes_in=timedelta(seconds=4), phones=1)
    own = serving_distributor(platform)
    running = await own.__aenter__()
    stopped = False
    try:
        async with running_gateway(state, distributor_url=running.url, client=http) as gateway:
            await eventually(lambda: _value(gateway.phones_running()), until=lambda p: p == [phone], within=5)
            # The distributor goes away: from here on the gateway enforces the expiry on its own.
            await own.__aexit__(None, None, None)
            stopped = True
            await eventually(lambda: _true(not gateway.connected), within=5)
            assert gateway.phones_running() == [phone]
            await eventually(lambda: _value(gateway.phones_running()), until=lambda p: p == [], within=6)
            assert gateway.stats.reboot_reasons == ["rental_expired"]
            assert gateway.current is None
            assert not gateway.connected
    finally:
        if not stopped:
            await own.__aexit__(None, None, None)


async def test_two_replicas_each_push_a_change_to_the_gateways_connected_to_them(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    first, second = await registered_gateways(tenant, platform, 2)
    await tenant.runway(depletes_in=timedelta(hours=1))
    async with (
        serving_distributor(platform) as other_replica,
        running_gateway(first, distributor_url=distributor.url, client=http) as on_first,
        running_gateway(second, distributor_url=other_replica.url, client=http) as on_second,
    ):
        for gateway in (on_first, on_second):
            await eventually(functools.partial(_connected_with_a_bundle, gateway))
        await tenant.rent(PHONE)
        for gateway in (on_first, on_second):
            bundle = await eventually(
                functools.partial(_current_bundle, gateway), until=lambda b: b is not None and bool(b.devices)
            )
            assert bundle is not None
            assert [d.hwid for d in bundle.devices] == [PHONE]
        # Each replica has its own notification queue: neither relayed through the other.
        queues = await eventually(
            lambda: admin_count(
                platform,
                "SELECT count(DISTINCT connected_replica) FROM licensing.gateway WHERE hwid = ANY($1::text[])",
                [first.hwid, second.hwid],
            ),
            until=lambda n: n == 2,
        )
        assert queues == 2


async def test_the_http_pull_needs_a_one_time_challenge_signed_by_the_gateway(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    state = GatewayState.generate(phones=0)
    await tenant.create_domain()
    await tenant.register(state)
    registered = await wait_registered(platform, state.hwid)

    async def pull(*, signer: GatewayState, seq: int = 0, reuse: str | None = None) -> httpx.Response:
        nonce = reuse
        if nonce is None:
            challenge = await http.post(f"{distributor.url}/v1/gateways/{state.hwid}/challenge")
            assert challenge.status_code == 201, challenge.text
            nonce = challenge.json()["nonce"]
            assert challenge.json()["signs"] == f"rental-gateway-auth:{nonce}:{state.hwid}"
        return await http.get(
            f"{distributor.url}/v1/gateways/{state.hwid}/bundle",
            headers={
                "X-Gateway-Nonce": nonce,
                "X-Gateway-Signature": signer.sign_challenge(nonce),
                "X-Gateway-Seq": str(seq),
            },
        )

    pulled = await pull(signer=state)
    assert pulled.status_code == 200, pulled.text
    jwks = (await http.get(f"{distributor.url}/.well-known/jwks.json")).json()
    bundle = verify_bundle(pulled.json()["jws"], jwks=jwks, hwid=state.hwid, highest_seq=0, now=datetime.now(UTC))
    assert bundle.seq == registered["current_seq"]
    assert (await pull(signer=state, seq=bundle.seq)).status_code == 204
    refused = await pull(signer=GatewayState.generate(phones=0))
    assert refused.status_code == 401
    assert refused.json()["code"] == "bad_signature"
    challenge = (await http.post(f"{distributor.url}/v1/gateways/{state.hwid}/challenge")).json()["nonce"]
    assert (await pull(signer=state, reuse=challenge)).status_code == 200
    replayed = await pull(signer=state, reuse=challenge)
    assert replayed.status_code == 401
    assert replayed.json()["code"] == "invalid_challenge"
    row = await gateway_row(platform, state.hwid)
    assert row is not None
    assert row["acked_seq"] == bundle.seq


async def _true(value: bool) -> bool:
    return value


async def _connected_with_a_bundle(gateway: SimulatedGateway) -> bool:
    return gateway.connected and gateway.state.highest_seq >= 1


async def _current_bundle(gateway: SimulatedGateway) -> AcceptedBundle | None:
    return gateway.current


def _signed_by(bundle: AcceptedBundle | None, *, kid: str) -> bool:
    return bundle is not None and bundle.kid == kid


def _acked(row: asyncpg.Record | None, *, seq: int) -> bool:
    return row is not None and bool(row["acked_seq"] == seq)


async def _renting_gateway(
    tenant: TenantFeed, platform: TestPlatform, *, depletes_in: timedelta, phones: int = 0
) -> tuple[GatewayState, str]:
    """A gateway enrolled in a domain that rents one phone (its own, else PHONE): the gateway and the phone."""
    state = GatewayState.generate(phones=phones)
    phone = state.phones[0].hwid if phones else PHONE
    await enrolled(tenant, platform, state)
    await tenant.runway(depletes_in=depletes_in)
    await tenant.rent(phone)
    return state, phone


async def _second_bundle(platform: TestPlatform, state: GatewayState) -> asyncpg.Record:
    row = await eventually(
        lambda: gateway_row(platform, state.hwid), until=lambda r: r is not None and r["current_seq"] == 2
    )
    assert row is not None
    return row


async def _value(value: T) -> T:
    return value


async def test_the_licences_view_shows_the_bundle_and_each_gateway_online_with_its_acknowledged_seq(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    online, offline = await registered_gateways(tenant, platform, 2)
    await tenant.runway(depletes_in=timedelta(hours=1))
    await tenant.rent(PHONE)
    url = f"{distributor.url}/v1/domains/{tenant.domain_id}/licences"
    customer = platform.auth("customer", account_id=tenant.account_id)
    async with running_gateway(online, distributor_url=distributor.url, client=http) as gateway:
        await eventually(lambda: _value(gateway.current), until=lambda b: b is not None and bool(b.devices))

        async def view() -> dict[str, object]:
            response = await http.get(url, headers=customer)
            assert response.status_code == 200, response.text
            body: dict[str, object] = response.json()
            return body

        body = await eventually(
            view,
            until=lambda b: any(
                g["online"] and g["acknowledged_seq"] == g["seq"]
                for g in b["gateways"]  # type: ignore[attr-defined]
            ),
        )
    assert body["bundle"]["devices"] == [{"hwid": PHONE, "product": "PHONE-1"}]  # type: ignore[index]
    assert body["bundle"]["expires_at"] is not None  # type: ignore[index]
    gateways = {g["hwid"]: g for g in body["gateways"]}  # type: ignore[attr-defined]
    assert gateways[online.hwid]["online"] is True
    assert gateways[online.hwid]["last_seen_at"] is not None
    assert gateways[offline.hwid]["online"] is False
    assert gateways[offline.hwid]["acknowledged_seq"] == 0
    assert gateways[offline.hwid]["last_seen_at"] is None
    # Another account's customer learns nothing; a partner and an operator see it.
    stranger = platform.auth("customer", account_id="00000000-0000-4000-8000-000000000009")
    hidden = await http.get(url, headers=stranger)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    for role in ("partner", "operator"):
        assert (await http.get(url, headers=platform.auth(role))).status_code == 200
    assert (await http.get(url)).status_code == 401


async def test_after_a_rotation_every_gateway_gets_a_bundle_signed_by_the_new_key_and_the_old_stays_in_its_grace(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    # "Every gateway" is every live one in this database: retire the other tests' gateways first.
    await _remove_every_live_gateway(platform, tenant)
    first, second = GatewayState.generate(phones=0), GatewayState.generate(phones=0)
    await tenant.create_domain()
    stores = {first.hwid: MemoryStore(), second.hwid: MemoryStore()}
    for state in (first, second):
        await tenant.register(state)
        await wait_registered(platform, state.hwid)
        async with running_gateway(state, distributor_url=distributor.url, client=http, store=stores[state.hwid]):
            await eventually(
                functools.partial(gateway_row, platform, state.hwid),
                until=lambda r: r is not None and r["acked_seq"] >= 1,
            )

    async def published() -> set[str]:
        jwks = (await http.get(f"{distributor.url}/.well-known/jwks.json")).json()
        return {str(k["kid"]) for k in jwks["keys"]}

    # Other tests' rotated-out keys may still be in their grace period: the old key is the one these two hold.
    held = await admin_fetch(
        platform,
        """SELECT DISTINCT b.kid FROM licensing.gateway g JOIN licensing.bundle b ON b.hwid = g.hwid
           AND b.seq = g.acked_seq WHERE g.hwid = ANY($1) AND g.removed_at IS NULL""",
        [first.hwid, second.hwid],
    )
    old_kids = {str(r["kid"]) for r in held}
    assert len(old_kids) == 1
    assert old_kids <= await published()
    refused = await http.post(f"{distributor.url}/v1/signing-keys/rotation", headers=platform.auth("partner"))
    assert refused.status_code == 403
    rotated = await http.post(f"{distributor.url}/v1/signing-keys/rotation", headers=platform.auth("operator"))
    assert rotated.status_code == 202, rotated.text
    new_kid = rotated.json()["kid"]
    status_url = f"{distributor.url}{rotated.headers['Location']}"

    async def rotation() -> dict[str, object]:
        body: dict[str, object] = (await http.get(status_url, headers=platform.auth("operator"))).json()
        return body

    done = await eventually(rotation, until=lambda r: r["status"] == "completed")
    assert done["bundles_reissued"] == 2
    assert done["gateways_resigned"] == 2
    assert done["gateways_acknowledged"] == 0
    # Both gateways are offline, holding bundles signed by the old key: both keys are published.
    assert old_kids | {new_kid} <= await published()

    for index, state in enumerate((first, second)):
        store = stores[state.hwid]
        async with running_gateway(
            store.states[state.hwid], distributor_url=distributor.url, client=http, store=store
        ) as gateway:
            bundle = await eventually(
                functools.partial(_current_bundle, gateway),
                until=functools.partial(_signed_by, kid=new_kid),
            )
            assert bundle is not None
            await eventually(
                functools.partial(gateway_row, platform, state.hwid),
                until=functools.partial(_acked, seq=bundle.seq),
            )
        # Within its grace period (a day by default) the old key stays published whoever holds what; it leaves
        # after it, offline gateways or not (test_signing_keys.py moves the clock past it).
        assert old_kids | {new_kid} <= await published(), index


async def _remove_every_live_gateway(platform: TestPlatform, tenant: TenantFeed) -> None:
    from shared.events.provisioning import GatewayRemoved

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


async def test_a_removed_gateway_is_told_to_reboot_its_session_closed_and_it_cannot_identify_again(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:

    state = GatewayState.generate(phones=0)
    gateway_id = await enrolled(tenant, platform, state)
    async with running_gateway(state, distributor_url=distributor.url, client=http) as gateway:
        await eventually(lambda: _true(gateway.connected))
        await tenant.remove(gateway_id, state)
        await eventually(lambda: _value(gateway.stats.reboot_reasons), until=lambda r: "gateway_removed" in r)
        await eventually(lambda: _value(gateway.stats.refusals), until=lambda r: "unknown_gateway" in r)


@pytest.mark.usefixtures("distributor")
async def test_two_rebuilds_racing_for_the_same_gateways_issue_one_bundle_not_two(
    tenant: TenantFeed, platform: TestPlatform
) -> None:
    from license_distributor.service import reissue_bundles
    from shared.db import connect

    state, _ = await _renting_gateway(tenant, platform, depletes_in=timedelta(hours=1))
    await _second_bundle(platform, state)
    dsn = platform.database_url("licensing")
    first, second = await connect(dsn=dsn, schema="licensing"), await connect(dsn=dsn, schema="licensing")
    try:
        # The rental stops (as a handler and the expiry sweep would both notice); two rebuilds race for it.
        await first.execute("UPDATE contract_rental SET active = false WHERE contract_id = $1", tenant.contract_id)
        first_tx, second_tx = first.transaction(), second.transaction()
        await first_tx.start()
        issued_first = await reissue_bundles(
            first, domain_ids=[uuid.UUID(tenant.domain_id)], now=datetime.now(UTC), issuer="t"
        )
        await second_tx.start()
        racing = asyncio.create_task(
            reissue_bundles(second, domain_ids=[uuid.UUID(tenant.domain_id)], now=datetime.now(UTC), issuer="t")
        )
        # The second rebuild must be blocked on the gateway rows' lock before the first commits.
        second_pid = second.get_server_pid()
        await eventually(
            lambda: admin_count(
                platform,
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
                second_pid,
            ),
            until=lambda waiting: waiting == 1,
        )
        assert not racing.done()
        await first_tx.commit()
        issued_second = await racing
        await second_tx.commit()
    finally:
        await first.close()
        await second.close()
    assert [b.seq for b in issued_first] == [3]
    assert issued_second == []
    assert await admin_count(platform, "SELECT count(*) FROM licensing.bundle WHERE hwid = $1", state.hwid) == 3
