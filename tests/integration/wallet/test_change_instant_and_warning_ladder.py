"""The wallet charges from the instant of the change (`RentalChanged.changed_at`), and warns by one ladder: the
account's own, within the deployment's bounds, carried by `RunwayChanged.warnings_at` and used by `BalanceLow`.

The wallet's clock is moved, so the module has a platform of its own (a moved wallet clock reaches every account
of its database).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared.events.contracts import RentalChanged
from shared.events.wallet import BalanceLow, RunwayChanged
from shared.money import MICRO_PER_ISC
from tests.harness import EventTap, TestPlatform, clock_of, fresh_platform, publish_event, running_service
from tests.integration.wallet.wallet_rig import account_where, fund, open_account, read_account
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

DAY = timedelta(days=1)
DEPLOYMENT_LADDER = [3 * 86_400, 86_400]


@pytest.fixture(scope="module")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    dev_dir: Path = tmp_path_factory.mktemp("change-instant")
    async with fresh_platform(*infrastructure, dev_dir) as own:
        yield own


@pytest.fixture(scope="module")
async def wallet(platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    settings = platform.settings(WalletSettings, low_balance_thresholds_s=DEPLOYMENT_LADDER, scheduler_max_sleep_s=60)
    async with running_service(WALLET, settings) as client:
        yield client


async def rent(platform: TestPlatform, account_id: str, *, changed_at: datetime | None) -> None:
    """One contract of the account rents at 1 iSC/day, changed at `changed_at`, published as contracts would."""
    event = RentalChanged(
        contract_id=uuid.uuid4(),
        account_id=uuid.UUID(account_id),
        burn_rate_per_day=MICRO_PER_ISC,
        domains=[],
        version=1,
        active=True,
        changed_at=changed_at,
    )
    await publish_event(platform, event)


async def funded_at(wallet: httpx.AsyncClient, platform: TestPlatform, *, amount: str) -> tuple[str, datetime]:
    """A new account funded with `amount` iSC at one instant of the wallet's clock (its last settlement)."""
    clock = clock_of(wallet)
    account_id = await open_account(wallet, platform)
    instant = clock.now()
    with clock.held_at(instant):
        await fund(wallet, platform, account_id, amount=amount)
    return account_id, instant


def run_out(account: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(account["depletes_at"]))


async def test_a_rental_change_is_charged_from_its_own_instant_not_from_when_the_wallet_handles_it(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    clock = clock_of(wallet)
    account_id, funded = await funded_at(wallet, platform, amount="10")
    # The wallet handles the change two hours after it happened (the envelope's own time is earlier still).
    clock.advance(2 * timedelta(hours=1))
    await rent(platform, account_id, changed_at=funded + timedelta(hours=1))
    account = await account_where(wallet, platform, account_id, burn_rate_per_day="1")
    # 10 days at 1 iSC/day from the change: neither from the funding, nor from when the event was handled.
    assert abs(run_out(account) - (funded + timedelta(hours=1) + 10 * DAY)) < timedelta(seconds=1)


async def test_a_change_from_before_the_last_settlement_is_charged_from_the_settlement(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id, funded = await funded_at(wallet, platform, amount="10")
    await rent(platform, account_id, changed_at=funded - DAY)
    account = await account_where(wallet, platform, account_id, burn_rate_per_day="1")
    # What was settled stays settled: the day before the funding is not charged to the credit loaded after it.
    assert abs(run_out(account) - (funded + 10 * DAY)) < timedelta(seconds=1)


async def test_an_account_warns_by_its_own_ladder_within_the_bounds(
    wallet: httpx.AsyncClient, platform: TestPlatform, tap: EventTap
) -> None:
    clock = clock_of(wallet)
    account_id, _ = await funded_at(wallet, platform, amount="10")
    customer = platform.auth("customer", account_id=account_id)
    await rent(platform, account_id, changed_at=None)
    account = await account_where(wallet, platform, account_id, burn_rate_per_day="1")
    assert (account["warning_thresholds_s"], account["warning_thresholds_source"]) == (DEPLOYMENT_LADDER, "default")
    depletes_at = run_out(account)

    own = await wallet.put(
        f"/v1/accounts/{account_id}/warning-thresholds", json={"thresholds_s": [3600, 7200]}, headers=customer
    )
    assert own.status_code == 200, own.text
    assert (own.json()["warning_thresholds_s"], own.json()["warning_thresholds_source"]) == ([7200, 3600], "account")
    assert (await read_account(wallet, platform, account_id))["warning_thresholds_s"] == [7200, 3600]
    # The new runway carries the ladder as instants, for the bundles to sign in.
    [runway] = await tap.wait_for(RunwayChanged, account_id=account_id, version=own.json()["version"])
    assert runway.event.warnings_at == [depletes_at - timedelta(seconds=7200), depletes_at - timedelta(seconds=3600)]

    # Outside the default bounds, which the document states: refused by the schema (a deployment that narrows
    # them refuses more with `warning_thresholds_out_of_bounds`, tests/unit/wallet/test_piecewise_burn.py).
    for ladder in ([0], [400 * 86_400], list(range(1, 22)), []):
        refused = await wallet.put(
            f"/v1/accounts/{account_id}/warning-thresholds", json={"thresholds_s": ladder}, headers=customer
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_failed"), ladder
    stranger = platform.auth("customer", account_id=uuid.uuid4())
    hidden = await wallet.put(
        f"/v1/accounts/{account_id}/warning-thresholds", json={"thresholds_s": [60]}, headers=stranger
    )
    assert hidden.status_code == 404

    # BalanceLow warns by the same ladder: the deployment's 3 days and 1 day are passed over without a word.
    clock.advance(depletes_at - timedelta(seconds=7200) - clock.now() + timedelta(seconds=1))
    [low] = await tap.wait_for(BalanceLow, account_id=account_id)
    assert low.event.threshold_s == 7200
    clock.advance(timedelta(seconds=3600))
    warnings = await tap.wait_for(BalanceLow, account_id=account_id, count=2)
    assert [w.event.threshold_s for w in warnings] == [7200, 3600]

    back = await wallet.put(
        f"/v1/accounts/{account_id}/warning-thresholds", json={"thresholds_s": None}, headers=customer
    )
    assert (back.json()["warning_thresholds_s"], back.json()["warning_thresholds_source"]) == (
        DEPLOYMENT_LADDER,
        "default",
    )
