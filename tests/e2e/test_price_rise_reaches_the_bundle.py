"""Issue 14: a scheduled price rise reaches the gateway's bundle, across the four running services and the simulator.

Real time, short leases (contracts' `lease_s` and the distributor's agree: 20 s). A phone is rented at 1 iSC/s on
40 iSC, so at the old rate alone it runs out 40 s after its activation. A rise to 3 iSC/s is scheduled at the
earliest instant contracts allows (one lease ahead, read from its refusal of an earlier one). At both rates the
burn is exactly 1 and 3 micro-iSC per microsecond, so the wallet's piecewise run-out is computed here exactly, in
integer micro-iSC: the balance left at the rise, burnt at 3 per microsecond.

The bundle signed after the schedule still ends at its lease; the one renewed at half the lease reaches past the
run-out, so its `exp` is the run-out itself, to the second. A gateway that holds it and loses the distributor
before the rise stops its phones at that `exp`, well before the old rate's run-out, and before its lease's end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from gateway_simulator.fleet import register_gateways
from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from gateway_simulator.verifier import AcceptedBundle
from provisioning.config import Settings as ProvisioningSettings
from provisioning.main import SPEC as PROVISIONING
from shared.money import MICRO_PER_ISC
from tests.e2e.test_rental_story import Platform
from tests.harness import TestPlatform, eventually, ready, running_gateway, running_service
from tests.integration.license_distributor.conftest import Distributor, serving_distributor
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

pytestmark = pytest.mark.slow

LEASE = timedelta(seconds=20)
BALANCE_ISC = 40
OLD_RATE_PER_S = 1  # iSC per second: 1 micro-iSC per microsecond, no rounding
NEW_RATE_PER_S = 3
US = timedelta(microseconds=1)


@pytest.fixture(scope="module")
async def running(platform: TestPlatform) -> AsyncIterator[Platform]:
    """Wallet, contracts (with the short lease) and provisioning in this process; each test serves its distributor."""
    async with AsyncExitStack() as stack:
        clients = {
            "wallet": await stack.enter_async_context(running_service(WALLET, platform.settings(WalletSettings))),
            "contracts": await stack.enter_async_context(
                running_service(CONTRACTS, platform.settings(ContractsSettings, lease_s=int(LEASE.total_seconds())))
            ),
            "provisioning": await stack.enter_async_context(
                running_service(PROVISIONING, platform.settings(ProvisioningSettings))
            ),
        }
        yield Platform(platform, clients, "")


@dataclass(frozen=True)
class Rising:
    """A rented phone whose product's rise is scheduled, and the instants that follow from it."""

    gateway: SimulatedGateway
    phone: str
    account_id: str
    activated_at: datetime
    rise_at: datetime
    old_run_out: datetime  # at the old rate alone
    run_out: datetime  # piecewise, computed here
    renewed: AcceptedBundle  # the first bundle whose lease reaches past the run-out


def piecewise_run_out(*, activated_at: datetime, rise_at: datetime) -> datetime:
    """The first microsecond the balance reads zero: burnt at the old rate until the rise, then at the new one.

    The wallet's rule (`Burn.depletes_at`): within a piece at `rate` micro-iSC per microsecond, after usage `C`,
    the target `u` is reached `(u - C - 1) // rate + 1` microseconds into it."""
    balance = BALANCE_ISC * MICRO_PER_ISC
    used = (rise_at - activated_at) // US * OLD_RATE_PER_S
    assert used < balance, "the rise comes after the run-out"
    return rise_at + timedelta(microseconds=(balance - used - 1) // NEW_RATE_PER_S + 1)


async def depletes_at(p: Platform, account_id: str) -> datetime | None:
    account = await p.wallet.get(f"/v1/accounts/{account_id}", headers=p.auth("customer", account_id))
    assert account.status_code == 200, account.text
    value = account.json()["depletes_at"]
    return datetime.fromisoformat(value) if value else None


async def enrol(p: Platform, *, account_id: str, domain_id: str, hwid: str, product: str) -> str:
    code = await p.provisioning.post(
        f"/v1/domains/{domain_id}/provisioning-codes", json={}, headers=p.auth("customer", account_id)
    )
    assert code.status_code == 201, code.text
    device = await p.provisioning.post(
        "/v1/provisioning", json={"code": code.json()["code"], "hwid": hwid, "product": product, "type": "PHONE"}
    )
    assert device.status_code == 201, device.text
    return str(device.json()["id"])


async def renting_account(p: Platform, *, product: str) -> tuple[str, str, str]:
    """An account with an approved contract and a linked domain, and the product's tariff at the old rate:
    (account, domain, contract)."""
    operator, partner = p.auth("operator"), p.auth("partner")
    tariff = await p.contracts.put(
        f"/v1/tariffs/{product}",
        json={"rate_per_day": str(OLD_RATE_PER_S * 86_400), "licences": [{"type": "PORT", "count": 1}]},
        headers=operator,
    )
    assert tariff.status_code in (200, 201), tariff.text
    account = await p.wallet.post("/v1/accounts", json={"name": f"Rise {product}"}, headers=partner)
    assert account.status_code == 201, account.text
    account_id = str(account.json()["id"])
    domain_id, contract_id = await p.approved_contract(account_id)
    return account_id, domain_id, contract_id


async def schedule_the_earliest_rise(p: Platform, product: str) -> datetime:
    """The rise at the earliest instant contracts allows: an earlier one is refused and names that instant."""
    body: dict[str, object] = {
        "rate_per_day": str(NEW_RATE_PER_S * 86_400),
        "licences": [{"type": "PORT", "count": 1}],
    }
    refused = await p.contracts.put(
        f"/v1/tariffs/{product}",
        json={**body, "effective_at": (datetime.now(UTC) + LEASE - timedelta(seconds=1)).isoformat()},
        headers=p.auth("operator"),
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "tariff_increase_too_soon"
    earliest = datetime.fromisoformat(refused.json()["earliest_effective_at"])
    # The earliest instant moves on with the clock: the first one offered that is not refused.
    for margin_ms in (50, 200, 500, 1000):
        rise_at = earliest + timedelta(milliseconds=margin_ms)
        scheduled = await p.contracts.put(
            f"/v1/tariffs/{product}", json={**body, "effective_at": rise_at.isoformat()}, headers=p.auth("operator")
        )
        if scheduled.status_code == 200:
            assert [datetime.fromisoformat(s["effective_at"]) for s in scheduled.json()["scheduled"]] == [rise_at]
            return rise_at
        assert scheduled.json()["code"] == "tariff_increase_too_soon", scheduled.text
    raise AssertionError("no rise accepted within a second of the earliest instant")


async def a_rise_scheduled_while_renting(
    p: Platform, distributor: Distributor, http: httpx.AsyncClient, stack: AsyncExitStack, *, product: str
) -> Rising:
    account_id, domain_id, contract_id = await renting_account(p, product=product)
    state = GatewayState.generate(phones=1, phone_product=product)
    phone = state.phones[0].hwid
    registered = await register_gateways(
        [state], provisioning_url="", domain_id=domain_id, token=p.platform.token("partner"), client=p.provisioning
    )
    assert registered == [state.hwid]
    gateway = await stack.enter_async_context(
        running_gateway(state, distributor_url=distributor.url, client=http, store=MemoryStore())
    )
    await eventually(lambda: ready(gateway), until=lambda g: g.connected and g.current is not None, within=15)

    device_id = await enrol(p, account_id=account_id, domain_id=domain_id, hwid=phone, product=product)
    redeemed = await p.redeem(account_id, await p.key(str(BALANCE_ISC)))
    assert Decimal(redeemed.json()["balance"]) == BALANCE_ISC
    await p.rentable(contract_id=contract_id, account_id=account_id, device_id=device_id)
    rental = await p.until_known(
        also_retry=("no_credit",),
        client=p.contracts,
        method="POST",
        url=f"/v1/contracts/{contract_id}/rentals",
        json={"device_id": device_id},
        headers={**p.auth("customer", account_id), "Idempotency-Key": uuid.uuid4().hex},
    )
    activated_at = datetime.fromisoformat(rental.json()["activated_at"])
    old_run_out = activated_at + timedelta(seconds=BALANCE_ISC // OLD_RATE_PER_S)
    # At the old rate alone, from the second of the activation: 40 s.
    await eventually(lambda: depletes_at(p, account_id), until=lambda at: at == old_run_out, within=10)
    await eventually(lambda: ready(gateway.phones_running()), until=lambda running: running == [phone], within=10)

    rise_at = await schedule_the_earliest_rise(p, product)
    run_out = piecewise_run_out(activated_at=activated_at, rise_at=rise_at)
    assert run_out < old_run_out
    # The wallet's run-out is the piecewise one, to the microsecond, as soon as the schedule reaches it.
    await eventually(lambda: depletes_at(p, account_id), until=lambda at: at == run_out, within=10)

    # Renewed at half its lease, the bundle's lease reaches past the run-out: the run-out is its end.
    renewed = await eventually(
        lambda: ready(gateway.current),
        until=lambda b: b is not None and b.lease_ends_at is not None and b.lease_ends_at > run_out,
        within=LEASE.total_seconds(),
        what="a bundle whose lease reaches past the run-out",
    )
    assert renewed is not None
    return Rising(
        gateway=gateway,
        phone=phone,
        account_id=account_id,
        activated_at=activated_at,
        rise_at=rise_at,
        old_run_out=old_run_out,
        run_out=run_out,
        renewed=renewed,
    )


def floored(at: datetime) -> datetime:
    return at.replace(microsecond=0)


async def test_a_scheduled_increase_gives_a_bundle_whose_exp_matches_the_wallets_piecewise_run_out_to_the_second(
    running: Platform, platform: TestPlatform
) -> None:
    p = running
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        distributor = await stack.enter_async_context(
            serving_distributor(platform, lease_s=LEASE.total_seconds(), expiry_sweep_interval_s=0.2)
        )
        rise = await a_rise_scheduled_while_renting(p, distributor, http, stack, product=f"PHONE-RISE-{_tag()}")
        bundle = rise.renewed
        wallet_says = await depletes_at(p, rise.account_id)
        assert wallet_says == rise.run_out
        assert bundle.expires_at == floored(rise.run_out)
        assert bundle.expires_at < rise.old_run_out - timedelta(seconds=10)
        assert [d.hwid for d in bundle.devices] == [rise.phone]
        # Signed before the rise took effect: the gateway was told the new price's run-out ahead of it.
        assert bundle.issued_at < rise.rise_at
        assert rise.gateway.stats.rejected == []


async def test_a_gateway_offline_across_the_increase_never_runs_past_paid_time(
    running: Platform, platform: TestPlatform
) -> None:
    p = running
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        async with serving_distributor(platform, lease_s=LEASE.total_seconds(), expiry_sweep_interval_s=0.2) as d:
            rise = await a_rise_scheduled_while_renting(p, d, http, stack, product=f"PHONE-RISE-{_tag()}")
        # The distributor is gone before the rise takes effect: the gateway is on its own with what it holds.
        gateway, phone, held = rise.gateway, rise.phone, rise.renewed
        assert datetime.now(UTC) < rise.rise_at
        await eventually(lambda: ready(gateway.connected), until=lambda c: not c, within=5)
        assert gateway.current is not None
        assert gateway.current.seq == held.seq
        assert held.expires_at is not None
        assert held.lease_ends_at is not None
        assert held.expires_at <= rise.run_out < held.lease_ends_at
        # Its own enforcement at instants: running across the rise, stopped from the piecewise run-out on.
        assert gateway.phones_running(rise.rise_at) == [phone]
        assert gateway.phones_running(held.expires_at - US) == [phone]
        assert gateway.phones_running(rise.run_out) == []
        assert gateway.phones_running(held.lease_ends_at) == []
        assert gateway.phones_running(rise.old_run_out - US) == []

        # And in real time: it reboots at `exp`, and no run lasted past the paid time or the lease.
        await eventually(
            lambda: ready(gateway.stats.reboot_reasons),
            until=lambda reasons: reasons == ["rental_expired"],
            within=(rise.run_out - datetime.now(UTC)).total_seconds() + 10,
        )
        assert gateway.phones_running() == []
        assert not gateway.connected
        runs = gateway.stats.runs
        assert runs, "the phone never ran"
        assert all(run.end is not None for run in runs)
        assert max(run.end for run in runs if run.end is not None) <= min(rise.run_out, held.lease_ends_at)
        assert runs[-1].end == held.expires_at


def _tag() -> str:
    return uuid.uuid4().hex[:8].upper()
