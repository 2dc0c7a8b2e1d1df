"""Issue 16: a software rental burns from the balance, reaches the bundle a simulated gateway accepts, stops at zero
and comes back with the credit, across the four running services and the simulator.

Real time. The licence type costs 1 iSC per second per licence; two licences on 20 iSC run out 10 s after they are
rented (exactly: 2 micro-iSC per microsecond, no rounding).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from gateway_simulator.fleet import register_gateways
from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from provisioning.config import Settings as ProvisioningSettings
from provisioning.main import SPEC as PROVISIONING
from tests.e2e.test_price_rise_reaches_the_bundle import depletes_at, floored
from tests.e2e.test_rental_story import Platform
from tests.harness import TestPlatform, eventually, ready, running_gateway, running_service
from tests.integration.license_distributor.conftest import serving_distributor
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

pytestmark = pytest.mark.slow

RATE_PER_S = 1  # iSC per second per licence
COUNT = 2
BALANCE_ISC = 20


@pytest.fixture(scope="module")
async def running(platform: TestPlatform) -> AsyncIterator[Platform]:
    async with AsyncExitStack() as stack:
        clients = {
            "wallet": await stack.enter_async_context(running_service(WALLET, platform.settings(WalletSettings))),
            "contracts": await stack.enter_async_context(
                running_service(CONTRACTS, platform.settings(ContractsSettings))
            ),
            "provisioning": await stack.enter_async_context(
                running_service(PROVISIONING, platform.settings(ProvisioningSettings))
            ),
        }
        yield Platform(platform, clients, "")


async def contract_status(p: Platform, contract_id: str, account_id: str) -> str:
    response = await p.contracts.get(f"/v1/contracts/{contract_id}", headers=p.auth("customer", account_id))
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def an_account_with_a_linked_domain(p: Platform) -> tuple[str, str, str]:
    account = await p.wallet.post("/v1/accounts", json={"name": "Software"}, headers=p.auth("partner"))
    assert account.status_code == 201, account.text
    account_id = str(account.json()["id"])
    domain_id, contract_id = await p.approved_contract(account_id)
    return account_id, domain_id, contract_id


async def rent_licences(
    p: Platform, *, account_id: str, contract_id: str, domain_id: str, licence_type: str
) -> dict[str, Any]:
    """The licences rented once, whatever the retries: a replay is the first answer, a second rental refused."""
    customer = p.auth("customer", account_id)
    body = {"domain_id": domain_id, "type": licence_type, "count": COUNT}
    key = {**customer, "Idempotency-Key": uuid.uuid4().hex}
    started = await p.until_known(
        also_retry=("no_credit",),
        client=p.contracts,
        method="POST",
        url=f"/v1/contracts/{contract_id}/software-rentals",
        json=body,
        headers=key,
    )
    rental = started.json()
    assert rental["count"] == COUNT
    assert Decimal(rental["burn_rate_per_day"]) == COUNT * RATE_PER_S * 86_400
    # A retry with the same key is the first answer, not a second rental.
    again = await p.contracts.post(f"/v1/contracts/{contract_id}/software-rentals", json=body, headers=key)
    assert again.status_code == 201
    assert again.json()["id"] == rental["id"]
    second = await p.contracts.post(
        f"/v1/contracts/{contract_id}/software-rentals",
        json=body,
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert second.status_code == 409
    assert second.json()["code"] == "software_rental_exists"

    return dict(rental)


async def test_a_software_rental_burns_reaches_the_bundle_stops_at_zero_and_resumes(
    running: Platform, platform: TestPlatform
) -> None:
    p = running
    licence_type = f"UC{uuid.uuid4().hex[:6].upper()}"
    tariff = await p.contracts.put(
        f"/v1/software-tariffs/{licence_type}",
        json={"rate_per_day": str(RATE_PER_S * 86_400)},
        headers=p.auth("operator"),
    )
    assert tariff.status_code == 200, tariff.text
    assert tariff.json()["type"] == licence_type
    account_id, domain_id, contract_id = await an_account_with_a_linked_domain(p)
    customer = p.auth("customer", account_id)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        distributor = await stack.enter_async_context(serving_distributor(platform))
        state = GatewayState.generate(phones=0)
        registered = await register_gateways(
            [state], provisioning_url="", domain_id=domain_id, token=p.platform.token("partner"), client=p.provisioning
        )
        assert registered == [state.hwid]
        gateway: SimulatedGateway = await stack.enter_async_context(
            running_gateway(state, distributor_url=distributor.url, client=http, store=MemoryStore())
        )
        await eventually(lambda: ready(gateway), until=lambda g: g.connected and g.current is not None, within=15)

        redeemed = await p.redeem(account_id, await p.key(str(BALANCE_ISC)))
        assert Decimal(redeemed.json()["balance"]) == BALANCE_ISC
        rental = await rent_licences(
            p, account_id=account_id, contract_id=contract_id, domain_id=domain_id, licence_type=licence_type
        )

        # It burns from the same balance: the wallet's run-out is 10 s after the start, to the microsecond.
        started_at = datetime.fromisoformat(rental["started_at"])
        run_out = started_at + timedelta(seconds=BALANCE_ISC // (COUNT * RATE_PER_S))
        await eventually(lambda: depletes_at(p, account_id), until=lambda at: at == run_out, within=10)
        contract = await p.contracts.get(f"/v1/contracts/{contract_id}", headers=customer)
        assert Decimal(contract.json()["burn_rate_per_day"]) == COUNT * RATE_PER_S * 86_400

        # The gateway accepts a bundle carrying the licences, ending at the run-out.
        bundle = await eventually(
            lambda: ready(gateway.current),
            until=lambda b: b is not None and b.licences == ((licence_type, COUNT),),
            within=10,
            what="a bundle with the software licences",
        )
        assert bundle is not None
        assert bundle.expires_at == floored(run_out)
        assert gateway.stats.rejected == []

        # At zero the contract is suspended and the licences leave the bundle; the rental is kept.
        await eventually(
            lambda: contract_status(p, contract_id, account_id), until=lambda s: s == "suspended", within=30
        )
        await eventually(
            lambda: ready(gateway.current),
            until=lambda b: b is None or b.licences == (),
            within=15,
            what="the licences withdrawn at zero",
        )
        listed = await p.contracts.get(f"/v1/contracts/{contract_id}/software-rentals?active=true", headers=customer)
        assert [r["id"] for r in listed.json()["items"]] == [rental["id"]]

        # Credit again: the contract resumes and the licences come back in a new bundle.
        await p.redeem(account_id, await p.key(str(BALANCE_ISC)))
        await eventually(lambda: contract_status(p, contract_id, account_id), until=lambda s: s == "active", within=15)
        back = await eventually(
            lambda: ready(gateway.current),
            until=lambda b: b is not None and b.licences == ((licence_type, COUNT),),
            within=15,
            what="the licences back after the top-up",
        )
        assert back is not None
        assert back.seq > bundle.seq
        assert gateway.stats.rejected == []

    history = await p.contracts.get(f"/v1/contracts/{contract_id}/history?limit=200", headers=customer)
    types = [entry["type"] for entry in history.json()["items"]]
    assert "SoftwareRentalStarted" in types
    assert {"ContractSuspended", "ContractResumed"} <= set(types)
