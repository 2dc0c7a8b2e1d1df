"""A tariff rise scheduled one lease ahead, from the operator's PUT to the wallet's run-out, on real servers.

Contracts and the wallet run together on one moved clock (a platform of their own: the wallet's scheduler and the
tariff job reach every account and tariff of their database). Provisioning's events are published as provisioning
would. The story: a device rented at 1 iSC/day on 30 iSC; an early rise is refused; a rise to 2 iSC/day one lease
ahead is scheduled, and the very next RunwayChanged already carries the run-out over both rates; the tariff job
moves the rate at its instant without changing that run-out; the account runs out exactly there, charged each
piece at its rate.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import httpx
import pytest

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from shared.clock import MovableClock
from shared.events.contracts import RentalChanged
from shared.events.provisioning import DeviceProvisioned, DomainCreated
from shared.events.wallet import BalanceDepleted, RunwayChanged
from shared.money import MICRO_PER_ISC, SECONDS_PER_DAY
from tests.harness import (
    EventTap,
    TestPlatform,
    event_tap,
    eventually,
    fresh_platform,
    publish_event,
    ready,
    running_service,
)
from tests.integration.wallet.wallet_rig import account_where, fund, open_account, read_account, usage_amounts
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

LEASE = timedelta(days=7)
PRODUCT = "phone-rise"


@pytest.fixture(scope="module")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    dev_dir: Path = tmp_path_factory.mktemp("scheduled-price")
    async with fresh_platform(*infrastructure, dev_dir) as own:
        yield own


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": uuid.uuid4().hex}


async def until_status(call: Callable[[], Awaitable[httpx.Response]], status: int) -> httpx.Response:
    """Retry a request whose answer waits on an event still on its way (409 `not_yet_known`, `no_credit`)."""
    return await eventually(call, until=lambda r: r.status_code == status, what=f"status {status}")


def run_out_over(*, balance: int, start: datetime, rate: int, rise_at: datetime, new_rate: int) -> datetime:
    """Where `balance` runs out from `start` at `rate`, then `new_rate` from `rise_at`, in exact fractions."""
    day = Fraction(SECONDS_PER_DAY)
    used_before = Fraction(rate) * Fraction((rise_at - start).total_seconds()) / day
    left = Fraction(balance) - used_before
    assert left > 0
    return rise_at + timedelta(seconds=float(left / Fraction(new_rate) * day))


async def test_a_rise_scheduled_one_lease_ahead_is_in_the_run_out_at_once_and_charged_from_its_instant(
    platform: TestPlatform, tap: EventTap
) -> None:
    clock = MovableClock()
    wallet_settings = platform.settings(WalletSettings, scheduler_max_sleep_s=60)
    contracts_settings = platform.settings(ContractsSettings, lease_s=int(LEASE.total_seconds()))
    async with (
        running_service(WALLET, wallet_settings, clock=clock) as wallet,
        running_service(CONTRACTS, contracts_settings, clock=clock) as contracts,
        event_tap(platform, "contracts.#") as published,
    ):
        operator = platform.auth("operator")
        account_id, contract_id, activated_at = await _renting_at_one_isc_a_day(wallet, contracts, platform)
        customer = platform.auth("customer", account_id=account_id)
        tariff = {"rate_per_day": "1", "licences": [{"type": "PORT", "count": 1}]}
        burning = await account_where(wallet, platform, account_id, burn_rate_per_day="1")
        # 30 days at 1 iSC/day from the activation (the last micro-iSC is due a moment early: usage rounds up).
        first_run_out = datetime.fromisoformat(str(burning["depletes_at"]))
        assert timedelta(0) <= activated_at + timedelta(days=30) - first_run_out < timedelta(seconds=1)

        # A rise sooner than one lease ahead is refused, with when it could take effect.
        set_at = clock.now()
        rise = {**tariff, "rate_per_day": "2"}
        early = await contracts.put(
            f"/v1/tariffs/{PRODUCT}",
            json={**rise, "effective_at": (set_at + timedelta(days=1)).isoformat()},
            headers=operator,
        )
        assert early.status_code == 409, early.text
        assert early.json()["code"] == "tariff_increase_too_soon"
        assert datetime.fromisoformat(early.json()["earliest_effective_at"]) >= set_at + LEASE
        at_once = await contracts.put(f"/v1/tariffs/{PRODUCT}", json=rise, headers=operator)
        assert (at_once.status_code, at_once.json()["code"]) == (409, "tariff_increase_too_soon")

        # One lease ahead it is scheduled: the tariff shows it, the rate does not move yet.
        with clock.held_at(set_at):
            rise_at = set_at + LEASE
            scheduled = await contracts.put(
                f"/v1/tariffs/{PRODUCT}", json={**rise, "effective_at": rise_at.isoformat()}, headers=operator
            )
        assert scheduled.status_code == 200, scheduled.text
        shown = (await contracts.get(f"/v1/tariffs/{PRODUCT}", headers=customer)).json()
        assert shown["rate_per_day"] == "1"
        assert [(datetime.fromisoformat(s["effective_at"]), s["rate_per_day"]) for s in shown["scheduled"]] == [
            (rise_at, "2")
        ]
        announced = await eventually(
            lambda: ready([c for c in _rental_changes(published, contract_id) if c.scheduled_rates]),
            what="a RentalChanged with the scheduled rise",
        )
        assert [(s.effective_at, s.burn_rate_per_day) for s in announced[-1].scheduled_rates] == [
            (rise_at, 2 * MICRO_PER_ISC)
        ]
        assert announced[-1].changed_at == set_at

        # The very next runway already runs out over both rates, to the second.
        expected = run_out_over(
            balance=30 * MICRO_PER_ISC,
            start=activated_at,
            rate=MICRO_PER_ISC,
            rise_at=rise_at,
            new_rate=2 * MICRO_PER_ISC,
        )
        runways = await tap.wait_for(RunwayChanged, account_id=account_id, count=1)

        def rescheduled() -> list[RunwayChanged]:
            return [
                r.event
                for r in tap.of(RunwayChanged, account_id=account_id)
                if r.event.depletes_at is not None and r.event.depletes_at < first_run_out
            ]

        [runway] = await eventually(lambda: ready(rescheduled()), what="the runway over the rise")
        assert runway.depletes_at is not None
        assert abs(runway.depletes_at - expected) < timedelta(seconds=1)
        assert runway.burn_rate_per_day == MICRO_PER_ISC
        assert runway.warnings_at == sorted(runway.warnings_at)
        assert runway.warnings_at[-1] == runway.depletes_at - (timedelta(days=1))
        assert runways  # the earlier runways (funding, activation) came first
        account = await read_account(wallet, platform, account_id)
        assert datetime.fromisoformat(str(account["depletes_at"])) == runway.depletes_at
        ahead = account["scheduled_rates"]
        assert isinstance(ahead, list)
        assert [s["burn_rate_per_day"] for s in ahead] == ["2"]

        await _the_rise_takes_effect_at_its_instant_and_the_account_runs_out_as_announced(
            clock=clock,
            wallet=wallet,
            contracts=contracts,
            platform=platform,
            published=published,
            tap=tap,
            account_id=account_id,
            contract_id=contract_id,
            set_at=set_at,
            rise_at=rise_at,
            runway=runway,
        )


async def _the_rise_takes_effect_at_its_instant_and_the_account_runs_out_as_announced(
    *,
    clock: MovableClock,
    wallet: httpx.AsyncClient,
    contracts: httpx.AsyncClient,
    platform: TestPlatform,
    published: EventTap,
    tap: EventTap,
    account_id: str,
    contract_id: str,
    set_at: datetime,
    rise_at: datetime,
    runway: RunwayChanged,
) -> None:
    assert runway.depletes_at is not None
    customer = platform.auth("customer", account_id=account_id)
    # At its instant the tariff job moves the rate; the run-out the wallet announced was already right.
    clock.advance(rise_at - clock.now() + timedelta(seconds=1))
    took_effect = await eventually(
        lambda: ready([c for c in _rental_changes(published, contract_id) if c.changed_at == rise_at]),
        what="the RentalChanged of the rise taking effect",
    )
    assert (took_effect[-1].burn_rate_per_day, took_effect[-1].scheduled_rates) == (2 * MICRO_PER_ISC, [])
    now_shown = (await contracts.get(f"/v1/tariffs/{PRODUCT}", headers=customer)).json()
    assert (now_shown["rate_per_day"], now_shown["scheduled"]) == ("2", [])
    history = (await contracts.get(f"/v1/contracts/{contract_id}/history?limit=50", headers=customer)).json()
    types = {entry["type"]: entry for entry in history["items"]}
    assert datetime.fromisoformat(types["TariffChangeScheduled"]["at"]) == set_at
    assert datetime.fromisoformat(types["TariffChanged"]["at"]) == rise_at
    account = await account_where(wallet, platform, account_id, burn_rate_per_day="2")
    assert datetime.fromisoformat(str(account["depletes_at"])) == runway.depletes_at

    # It runs out exactly there, each piece charged at its own rate, to exactly the 30 iSC loaded.
    clock.advance(runway.depletes_at - clock.now() + timedelta(seconds=1))
    [depleted] = await tap.wait_for(BalanceDepleted, account_id=account_id)
    assert depleted.event.at == runway.depletes_at
    assert sum(await usage_amounts(platform, account_id)) == -30 * MICRO_PER_ISC


def _rental_changes(tap: EventTap, contract_id: str) -> list[RentalChanged]:
    return [r.event for r in tap.of(RentalChanged, contract_id=contract_id)]


async def _renting_at_one_isc_a_day(
    wallet: httpx.AsyncClient, contracts: httpx.AsyncClient, platform: TestPlatform
) -> tuple[str, str, datetime]:
    """A new account with 30 iSC renting one device at 1 iSC/day: its id, the contract's, the activation instant."""
    operator = platform.auth("operator")
    account_id = await open_account(wallet, platform)
    customer = platform.auth("customer", account_id=account_id)
    await fund(wallet, platform, account_id, amount="30")
    domain_id, device_id = uuid.uuid4(), uuid.uuid4()
    await publish_event(platform, DomainCreated(domain_id=domain_id, account_id=account_id, name="pbx"))
    await publish_event(
        platform,
        DeviceProvisioned(
            device_id=device_id,
            domain_id=domain_id,
            account_id=account_id,
            hwid=device_id.hex[:12],
            product=PRODUCT,
            type="phone",
        ),
    )
    tariff = {"rate_per_day": "1", "licences": [{"type": "PORT", "count": 1}]}
    assert (await contracts.put(f"/v1/tariffs/{PRODUCT}", json=tariff, headers=operator)).status_code == 200
    opened = await until_status(
        lambda: contracts.post("/v1/contracts", json={"account_id": account_id}, headers=platform.auth("partner")),
        201,
    )
    contract_id = opened.json()["id"]
    assert (await contracts.post(f"/v1/contracts/{contract_id}/acceptance", headers=customer)).status_code == 200
    assert (await contracts.post(f"/v1/contracts/{contract_id}/approval", headers=operator)).status_code == 200
    await until_status(
        lambda: contracts.post(
            f"/v1/contracts/{contract_id}/domains", json={"domain_id": str(domain_id)}, headers=operator
        ),
        201,
    )
    rented = await until_status(
        lambda: contracts.post(
            f"/v1/contracts/{contract_id}/rentals", json={"device_id": str(device_id)}, headers=keyed(customer)
        ),
        201,
    )
    return account_id, str(contract_id), datetime.fromisoformat(rented.json()["activated_at"])
