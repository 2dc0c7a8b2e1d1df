"""A month of burn-down rehearsed by moving the wallet's clock: warnings and the run-out at their instants.

The wallet's routes, handlers and scheduler all read the clock the composition root gave them
(`shared.clock`), so a test moves it days ahead instead of waiting; the scheduler, asleep until the next due
instant, wakes when its clock moves.

A wallet's scheduler settles and runs out every account of its database at the moved instant, so these tests
get a platform (database, broker prefix) of their own: moving the clock must not reach other tests' accounts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shared.events.wallet import BalanceDepleted, BalanceLow
from shared.money import MICRO_PER_ISC
from tests.harness import EventTap, TestPlatform, clock_of, fresh_platform, running_service
from tests.integration.wallet.wallet_rig import burning_account, read_account, usage_amounts
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    dev_dir: Path = tmp_path_factory.mktemp("clocked-wallet")
    async with fresh_platform(*infrastructure, dev_dir) as own:
        yield own


async def test_thirty_days_of_credit_warn_at_each_threshold_and_run_out_at_their_instant(
    platform: TestPlatform, tap: EventTap
) -> None:
    # Settlement once a day, as in production; the warning ladder is the default one (7 weeks down to 1 day).
    settings = platform.settings(WalletSettings, scheduler_max_sleep_s=60)
    async with running_service(WALLET, settings) as wallet:
        clock = clock_of(wallet)
        account_id, depletes_at = await burning_account(wallet, platform, amount="30", rate_per_day=MICRO_PER_ISC)
        # 30 days left: every threshold of the ladder from 4 weeks down is crossed on the way, each once.
        crossed = [days * DAY for days in (28, 21, 14, 7, 3, 1)]
        for count, threshold in enumerate(crossed, start=1):
            clock.advance(depletes_at - threshold - timedelta(seconds=1) - clock.now())
            assert len(tap.of(BalanceLow, account_id=account_id)) == count - 1
            clock.advance(timedelta(seconds=2))
            warnings = await tap.wait_for(BalanceLow, account_id=account_id, count=count)
            assert warnings[-1].envelope.data["threshold_s"] == threshold.total_seconds()
            assert (await read_account(wallet, platform, account_id))["status"] == "funded"
        assert not tap.of(BalanceDepleted, account_id=account_id)

        clock.advance(depletes_at - clock.now() + timedelta(seconds=1))
        [depleted] = await tap.wait_for(BalanceDepleted, account_id=account_id)
        assert datetime.fromisoformat(depleted.envelope.data["at"]) == depletes_at
        assert len(tap.of(BalanceLow, account_id=account_id)) == len(crossed)

        account = await read_account(wallet, platform, account_id)
        assert (account["balance"], account["status"], account["depletes_at"]) == ("0", "depleted", None)
        usage = await usage_amounts(platform, account_id)
        # Settled day by day as the clock passed (the daily settlement), to exactly the 30 iSC loaded.
        assert sum(usage) == -30 * MICRO_PER_ISC
        assert len(usage) >= 2


async def test_the_balance_read_is_exact_at_any_instant_of_the_run_down(platform: TestPlatform) -> None:
    async with running_service(WALLET, platform.settings(WalletSettings)) as wallet:
        # A slow rate (1 iSC per day), so that nothing runs out while the clock is held for the reads below.
        account_id, depletes_at = await burning_account(wallet, platform, amount="5", rate_per_day=MICRO_PER_ISC)
        clock = clock_of(wallet)

        async def read_at(instant: datetime) -> dict[str, object]:
            with clock.held_at(instant):
                return await read_account(wallet, platform, account_id)

        half_a_day_before = await read_at(depletes_at - timedelta(hours=12))
        a_microsecond_before = await read_at(depletes_at - timedelta(microseconds=1))
        at_run_out = await read_at(depletes_at)

    assert (half_a_day_before["balance"], half_a_day_before["status"]) == ("0.5", "funded")
    assert (a_microsecond_before["balance"], a_microsecond_before["status"]) == ("0.000001", "funded")
    assert (at_run_out["balance"], at_run_out["status"]) == ("0", "depleted")
