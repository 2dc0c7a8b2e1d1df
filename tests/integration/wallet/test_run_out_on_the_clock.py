"""A month of burn-down rehearsed by moving the wallet's clock: warnings and the run-out at their instants.

The wallet's routes, handlers and scheduler all read the clock the composition root gave them
(`shared.clock`), so a test moves it days ahead instead of waiting; the scheduler, asleep until the next due
instant, wakes when its clock moves.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.events.wallet import BalanceDepleted, BalanceLow
from shared.money import MICRO_PER_ISC
from tests.harness import EventTap, TestPlatform, clock_of, running_service
from tests.integration.wallet.wallet_rig import burning_account, read_account, usage_amounts
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

DAY = timedelta(days=1)


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
