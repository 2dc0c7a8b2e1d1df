"""Licence delivery failures end to end: a real distributor, a real wallet and a real webhook receiver.

A bundle a connected gateway refuses (the simulator, told to trust another issuer) or never acknowledges (a raw
WebSocket client that identifies and ignores what it is sent) becomes one `LicenceDeliveryFailed` per gateway and
seq, and the wallet tells it as `licence.delivery_failed` to the account's endpoints, and to no other account's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from websockets.asyncio.client import connect

from gateway_simulator.identity import GatewayState
from tests.harness import TestPlatform, admin_count, eventually, ready, running_gateway, running_service
from tests.integration.license_distributor.conftest import (
    Distributor,
    TenantFeed,
    enrolled,
    serving_distributor,
)
from tests.integration.wallet.outbound_rig import Receiver, register_endpoint, serving_receiver, verify_standard_webhook
from tests.integration.wallet.wallet_rig import open_account
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

# Short, so the test waits a second for an ack that never comes rather than the minute of production.
DEADLINE_S = 1.0
FAILED = "licence.delivery_failed"


@pytest.fixture(scope="module")
async def distributor(platform: TestPlatform) -> AsyncIterator[Distributor]:
    async with serving_distributor(platform, delivery_deadline_s=DEADLINE_S) as running:
        yield running


@pytest.fixture(scope="module")
async def wallet(platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    async with running_service(WALLET, platform.settings(WalletSettings, webhook_allow_private_targets=True)) as app:
        yield app


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving_receiver() as running:
        yield running


def failures_counted(kind: str, outcome: str) -> float:
    """The distributor's metric: failures told (`told`) or seen again and not told twice (`repeat`)."""
    value = REGISTRY.get_sample_value(
        "license_distributor_licence_delivery_failures_total", {"kind": kind, "outcome": outcome}
    )
    return value or 0.0


async def told_failures(platform: TestPlatform, hwid: str) -> int:
    return await admin_count(
        platform,
        "SELECT count(*) FROM licensing.outbox_message WHERE routing_key = 'licensing.licence_delivery_failed'"
        " AND payload->>'hwid' = $1",
        hwid,
    )


async def tenant_with_endpoints(
    wallet: httpx.AsyncClient, platform: TestPlatform, tenant: TenantFeed, receiver: Receiver
) -> tuple[dict[str, Any], str]:
    """The tenant's account opened in the wallet with an endpoint at `/own`, and another account's at `/other`;
    the tenant's domain rented by its contract (so the failure names it). Returns the tenant's endpoint and the
    other account's id."""
    tenant.account_id = await open_account(wallet, platform, "Delivering")
    other = await open_account(wallet, platform, "Bystander")
    endpoint = await register_endpoint(
        wallet, platform.auth("customer", account_id=tenant.account_id), tenant.account_id, f"{receiver.url}/own"
    )
    await register_endpoint(wallet, platform.auth("customer", account_id=other), other, f"{receiver.url}/other")
    return endpoint, other


def failures_at(receiver: Receiver, path: str) -> list[dict[str, Any]]:
    return [h.payload for h in receiver.at(path) if h.payload["type"] == FAILED]


async def test_a_gateway_that_refuses_its_bundle_is_told_to_the_accounts_endpoint_once(
    distributor: Distributor,
    wallet: httpx.AsyncClient,
    tenant: TenantFeed,
    receiver: Receiver,
    platform: TestPlatform,
    http: httpx.AsyncClient,
) -> None:
    endpoint, other = await tenant_with_endpoints(wallet, platform, tenant, receiver)
    state = GatewayState.generate(phones=1)
    gateway_id = await enrolled(tenant, platform, state)
    await tenant.rent(state.phones[0].hwid)
    await eventually(
        lambda: admin_count(
            platform, "SELECT count(*) FROM licensing.rental_domain WHERE domain_id = $1", uuid.UUID(tenant.domain_id)
        )
    )
    repeats = failures_counted("rejected", "repeat")
    # Trusting another issuer, the simulator refuses every bundle this distributor signs, and says so.
    async with running_gateway(
        state, distributor_url=distributor.url, client=http, issuer="urn:another-distributor"
    ) as gateway:
        hits = await eventually(lambda: ready(receiver), until=lambda r: bool(failures_at(r, "own")), within=15)
        [hit] = [h for h in hits.at("own") if h.payload["type"] == FAILED]
        payload = verify_standard_webhook(endpoint["secret"], hit.headers, hit.body)
        data = payload["data"]
        assert data["account_id"] == tenant.account_id
        assert data["contract_id"] == tenant.contract_id
        assert data["domain_id"] == tenant.domain_id
        assert data["gateway_id"] == str(gateway_id)
        assert data["hwid"] == state.hwid
        assert data["reason"] == "wrong_issuer"
        assert data["seq"] >= 1
        assert gateway.stats.rejected

        # Back again, it refuses the same bundle again: seen by the distributor, and not told a second time.
        await gateway.disconnect()
        await eventually(lambda: ready(failures_counted("rejected", "repeat")), until=lambda n: n > repeats, within=15)
    assert await told_failures(platform, state.hwid) == 1
    assert len(failures_at(receiver, "own")) == 1
    # Never to another tenant's endpoint.
    assert failures_at(receiver, "other") == []
    assert all(other not in h.body.decode() for h in receiver.at("own"))


@asynccontextmanager
async def silent_session(distributor: Distributor, state: GatewayState) -> AsyncIterator[int]:
    """A raw WebSocket client that identifies as the gateway holding nothing, takes the bundle it is sent and never
    answers it: the seq it was sent, while the session lasts."""
    async with connect(distributor.ws_url) as ws:
        challenge = json.loads(await ws.recv())
        identify = {
            "type": "identify",
            "hwid": state.hwid,
            "product": state.product,
            "version": "silent",
            "seq": 0,
            "signature": state.sign_challenge(challenge["nonce"]),
        }
        await ws.send(json.dumps(identify))
        assert json.loads(await ws.recv())["type"] == "welcome"
        bundle = json.loads(await ws.recv())
        assert bundle["type"] == "bundle"
        yield int(bundle["seq"])


async def test_a_bundle_never_acknowledged_within_the_deadline_is_told_once(
    distributor: Distributor, wallet: httpx.AsyncClient, tenant: TenantFeed, receiver: Receiver, platform: TestPlatform
) -> None:
    endpoint, _ = await tenant_with_endpoints(wallet, platform, tenant, receiver)
    state = GatewayState.generate(phones=0)
    await enrolled(tenant, platform, state)
    repeats = failures_counted("ack_timeout", "repeat")

    # Connected and silent past the deadline: the failure is told while the session lasts.
    async with silent_session(distributor, state) as seq:
        await eventually(lambda: told_failures(platform, state.hwid), until=lambda n: n >= 1, within=10 * DEADLINE_S)
    hits = await eventually(lambda: ready(receiver), until=lambda r: bool(failures_at(r, "own")), within=15)
    [hit] = [h for h in hits.at("own") if h.payload["type"] == FAILED]
    data = verify_standard_webhook(endpoint["secret"], hit.headers, hit.body)["data"]
    assert (data["hwid"], data["seq"], data["reason"]) == (state.hwid, seq, "ack_timeout")

    # A second silent session is sent the same bundle and lets its deadline pass too: a repeat, not told again.
    async with silent_session(distributor, state) as again:
        assert again == seq
        await eventually(
            lambda: ready(failures_counted("ack_timeout", "repeat")), until=lambda n: n > repeats, within=15
        )
    assert await told_failures(platform, state.hwid) == 1
    assert len(failures_at(receiver, "own")) == 1
