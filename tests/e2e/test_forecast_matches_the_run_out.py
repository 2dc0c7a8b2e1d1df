"""Issue 16: a forecast ("if I activate these phones and these licences, when do my credits run out?") equals the
run-out the real change then produces, across wallet, contracts and provisioning running for real.

The wallet and contracts share one clock, held still at the instant of the question and of the change, so the
change is charged from exactly the instant the forecast assumed. Rates that do not divide a day evenly and a
scheduled price decrease make the run-out piecewise and rounded, as the wallet computes it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Any

import pytest

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from gateway_simulator.identity import new_hwid
from provisioning.config import Settings as ProvisioningSettings
from provisioning.main import SPEC as PROVISIONING
from shared.clock import MovableClock
from tests.e2e.test_price_rise_reaches_the_bundle import depletes_at, enrol
from tests.e2e.test_rental_story import Platform
from tests.e2e.test_software_rental_story import an_account_with_a_linked_domain
from tests.harness import TestPlatform, eventually, running_service
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture(scope="module")
async def running(platform: TestPlatform, clock: MovableClock) -> AsyncIterator[Platform]:
    async with AsyncExitStack() as stack:
        clients = {
            "wallet": await stack.enter_async_context(
                running_service(WALLET, platform.settings(WalletSettings), clock=clock)
            ),
            "contracts": await stack.enter_async_context(
                running_service(CONTRACTS, platform.settings(ContractsSettings), clock=clock)
            ),
            "provisioning": await stack.enter_async_context(
                running_service(PROVISIONING, platform.settings(ProvisioningSettings))
            ),
        }
        yield Platform(platform, clients, "")


async def ask(p: Platform, contract_id: str, account_id: str, plan: dict[str, Any]) -> dict[str, Any]:
    response = await p.contracts.post(
        f"/v1/contracts/{contract_id}/forecast", json=plan, headers=p.auth("customer", account_id)
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


async def test_a_forecast_equals_the_run_out_the_real_change_then_produces(
    running: Platform, clock: MovableClock
) -> None:
    p = running
    tag = uuid.uuid4().hex[:6].upper()
    product, licence_type = f"PHONE-FC-{tag}", f"VIDEO{tag}"
    operator = p.auth("operator")
    assert (await p.contracts.put(f"/v1/tariffs/{product}", json={"rate_per_day": "7"}, headers=operator)).is_success
    assert (
        await p.contracts.put(f"/v1/software-tariffs/{licence_type}", json={"rate_per_day": "0.3"}, headers=operator)
    ).is_success
    account_id, domain_id, contract_id = await an_account_with_a_linked_domain(p)
    customer = p.auth("customer", account_id)
    phones = [
        await enrol(p, account_id=account_id, domain_id=domain_id, hwid=new_hwid(), product=product) for _ in range(3)
    ]
    for device_id in phones:
        await p.rentable(contract_id=contract_id, account_id=account_id, device_id=device_id)
    await p.redeem(account_id, await p.key("50"))
    first = await p.until_known(
        also_retry=("no_credit",),
        client=p.contracts,
        method="POST",
        url=f"/v1/contracts/{contract_id}/rentals",
        json={"device_id": phones[0]},
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
    )
    # A price decrease in two days: the run-out is piecewise.
    decrease_at = clock.now() + timedelta(days=2)
    scheduled = await p.contracts.put(
        f"/v1/tariffs/{product}", json={"rate_per_day": "5", "effective_at": decrease_at.isoformat()}, headers=operator
    )
    assert scheduled.status_code == 200, scheduled.text

    async def scheduled_rates() -> list[Any]:
        account = await p.wallet.get(f"/v1/accounts/{account_id}", headers=customer)
        rates: list[Any] = account.json()["scheduled_rates"]
        return rates

    await eventually(scheduled_rates, until=lambda rates: len(rates) == 1, within=10, what="the wallet told of it")

    plan = {"activate": phones[1:], "software": [{"domain_id": domain_id, "type": licence_type, "count": 3}]}
    with clock.held_at(clock.now()):
        at = clock.now()
        # The forecast's "now" is the wallet's run-out as it stands, once its burn state has reached contracts.
        wallet_now = await eventually(lambda: depletes_at(p, account_id), until=lambda d: d is not None, within=10)
        told = await eventually(
            lambda: ask(p, contract_id, account_id, plan),
            until=lambda a: instant(a["now"]["depletes_at"]) == wallet_now,
            within=10,
            what="the forecast's now to be the wallet's run-out",
        )
        assert instant(told["at"]) == at
        after = instant(told["after"]["depletes_at"])
        assert after is not None
        assert wallet_now is not None
        assert after < wallet_now
        assert told["after"]["time_left_s"] == int((after - at).total_seconds())
        assert float(told["after"]["burn_rate_per_day"]) == 7 * 3 + 0.3 * 3

        # Nothing was committed: the run-out is the same until the real change.
        assert await depletes_at(p, account_id) == wallet_now

        # The real change, at the same instant: the wallet's run-out is the forecast's, to the microsecond.
        for device_id in phones[1:]:
            activated = await p.contracts.post(
                f"/v1/contracts/{contract_id}/rentals",
                json={"device_id": device_id},
                headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert activated.status_code == 201, activated.text
        software = await p.contracts.post(
            f"/v1/contracts/{contract_id}/software-rentals",
            json={"domain_id": domain_id, "type": licence_type, "count": 3},
            headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert software.status_code == 201, software.text
        real = await eventually(
            lambda: depletes_at(p, account_id),
            until=lambda d: d == after,
            within=15,
            what=f"the forecast run-out {after} (at {at}, now {wallet_now})",
        )
        assert real == after

        # And back: ending them all again is forecast as the first phone alone.
        back = await ask(
            p,
            contract_id,
            account_id,
            {"deactivate": [], "software": [{"domain_id": domain_id, "type": licence_type, "count": 0}]},
        )
        assert float(back["after"]["burn_rate_per_day"]) == 7 * 3

    refused = await p.contracts.post(
        f"/v1/contracts/{contract_id}/forecast", json={"activate": [phones[0]]}, headers=customer
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "device_already_rented"
    twice = await p.contracts.post(
        f"/v1/contracts/{contract_id}/forecast",
        json={"deactivate": [first.json()["id"], first.json()["id"]]},
        headers=customer,
    )
    assert twice.status_code == 409
    assert twice.json()["code"] == "rental_not_active"
    stranger = await p.contracts.post(
        f"/v1/contracts/{contract_id}/forecast", json={}, headers=p.auth("customer", str(uuid.uuid4()))
    )
    assert stranger.status_code == 404


async def test_a_forecast_counts_auto_isc_reloads_as_the_wallet_then_makes_them(
    running: Platform, clock: MovableClock
) -> None:
    """Auto-iSC set: the forecast's run-out is later by the reloads the wallet would make within the monthly cap,
    and when the clock reaches the crossing the wallet's own reload produces that run-out (the clock is moved, so
    the wallet's scheduler really reloads; not only `planned_reloads` compared with itself)."""
    p = running
    product = f"PHONE-AR-{uuid.uuid4().hex[:6].upper()}"
    assert (
        await p.contracts.put(f"/v1/tariffs/{product}", json={"rate_per_day": "1"}, headers=p.auth("operator"))
    ).is_success
    account_id, domain_id, contract_id = await an_account_with_a_linked_domain(p)
    customer = p.auth("customer", account_id)
    phone = await enrol(p, account_id=account_id, domain_id=domain_id, hwid=new_hwid(), product=product)
    await p.rentable(contract_id=contract_id, account_id=account_id, device_id=phone)
    # At 1 iSC a day the crossing (run-out minus 7 days) is `days - 7` days on: put it mid-month, so that the
    # one reload the cap allows (2 iSC, cap 2) and the refused next crossing two days later share a month.
    days = next(d for d in range(37, 80) if 8 <= (clock.now() + timedelta(days=d - 7)).day <= 20)
    await p.redeem(account_id, await p.key(str(days)))
    await p.until_known(
        also_retry=("no_credit",),
        client=p.contracts,
        method="POST",
        url=f"/v1/contracts/{contract_id}/rentals",
        json={"device_id": phone},
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
    )
    wallet_now = await eventually(
        lambda: depletes_at(p, account_id), until=lambda d: d is not None, within=10, what="the wallet's run-out"
    )
    assert wallet_now is not None
    plain = await eventually(
        lambda: ask(p, contract_id, account_id, {}),
        until=lambda a: instant(a["now"]["depletes_at"]) == wallet_now,
        within=10,
        what="the forecast without Auto-iSC",
    )

    setting = {"threshold_days": 7, "amount": "2", "monthly_cap": "2", "enabled": True}
    set_ = await p.wallet.put(
        f"/v1/accounts/{account_id}/auto-reload",
        json=setting,
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert set_.status_code == 200, set_.text
    told = await eventually(
        lambda: ask(p, contract_id, account_id, {}),
        until=lambda a: instant(a["now"]["depletes_at"]) != wallet_now,
        within=10,
        what="the forecast to count Auto-iSC",
    )
    forecast = instant(told["now"]["depletes_at"])
    assert forecast is not None
    # One reload of 2 days' worth: the cap refuses the next crossing, two days later in the same month.
    assert abs(forecast - (wallet_now + timedelta(days=2))) < timedelta(seconds=1)
    assert told["after"]["depletes_at"] == told["now"]["depletes_at"]
    assert plain["now"]["burn_rate_per_day"] == told["now"]["burn_rate_per_day"]
    # Nothing committed: the wallet's run-out is unchanged until the crossing.
    assert await depletes_at(p, account_id) == wallet_now

    clock.advance(wallet_now - timedelta(days=7) - clock.now() + timedelta(seconds=1))
    real = await eventually(
        lambda: depletes_at(p, account_id),
        until=lambda d: d is not None and d != wallet_now,
        within=15,
        what="the wallet's reload at the crossing",
    )
    assert real is not None
    # The wallet loads when its scheduler wakes, a moment after the crossing: usage rounding may move the run-out
    # by a microsecond, no more.
    assert abs(real - forecast) < timedelta(milliseconds=1), (real, forecast)
    # After the reload, the forecast asks the cap what is left of the month: none, so no further reload is counted.
    after_reload = await eventually(
        lambda: ask(p, contract_id, account_id, {}),
        until=lambda a: instant(a["now"]["depletes_at"]) == real,
        within=10,
        what="the forecast after the reload",
    )
    assert instant(after_reload["now"]["depletes_at"]) == real
