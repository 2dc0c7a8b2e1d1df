"""The run-out scheduler is durable and replica-safe: a restart mid run-down, then two replicas, change nothing.

No other wallet runs while these tests do (their module fixtures are gone), so the instances started here
are the only ones that can announce the run-out.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.events.wallet import BalanceDepleted
from shared.money import MICRO_PER_ISC
from tests.harness import EventTap, TestPlatform, admin_fetch, running_service
from tests.integration.wallet.wallet_rig import (
    ONE_ISC_PER_SECOND_PER_DAY,
    burning_account,
    read_account,
    wait_seconds_of_wall_clock,
)
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET


async def test_five_isc_at_one_isc_per_second_run_out_on_time_across_a_restart_with_two_replicas(
    platform: TestPlatform, tap: EventTap
) -> None:
    settings = platform.settings(WalletSettings)
    async with running_service(WALLET, settings) as wallet:
        account_id, depletes_at = await burning_account(
            wallet, platform, amount="5", rate_per_day=ONE_ISC_PER_SECOND_PER_DAY
        )
        assert timedelta(seconds=4) < depletes_at - datetime.now(UTC) <= timedelta(seconds=5)
        await wait_seconds_of_wall_clock(1.5)
    # The wallet is down for a while in the middle of the run-down, then comes back as two replicas.
    await wait_seconds_of_wall_clock(1.0)
    async with running_service(WALLET, settings) as wallet, running_service(WALLET, settings):
        [depleted] = await tap.wait_for(BalanceDepleted, account_id=account_id, within=15)

        assert datetime.fromisoformat(depleted.envelope.data["at"]) == depletes_at
        late = depleted.received_at - depletes_at
        assert timedelta(0) <= late < timedelta(seconds=1), late
        account = await read_account(wallet, platform, account_id)
        assert (account["balance"], account["status"], account["depletes_at"]) == ("0", "depleted", None)

        await wait_seconds_of_wall_clock(1.0)  # give a second replica every chance to announce it again
        announced = await admin_fetch(
            platform,
            """SELECT count(*) AS n FROM wallet.outbox_message
               WHERE subject = $1 AND routing_key = 'wallet.balance_depleted'""",
            account_id,
        )
        assert announced[0]["n"] == 1
        ledger = await admin_fetch(
            platform,
            "SELECT kind, amount, balance_after FROM wallet.ledger_entry WHERE account_id = $1 ORDER BY seq",
            uuid.UUID(account_id),
        )
        assert sum(r["amount"] for r in ledger if r["kind"] == "usage") == -5 * MICRO_PER_ISC
        assert ledger[-1]["balance_after"] == 0


async def test_a_run_out_that_falls_due_while_no_wallet_runs_is_announced_at_start_with_its_exact_instant(
    platform: TestPlatform, tap: EventTap
) -> None:
    settings = platform.settings(WalletSettings)
    async with running_service(WALLET, settings) as wallet:
        account_id, depletes_at = await burning_account(
            wallet, platform, amount="1", rate_per_day=ONE_ISC_PER_SECOND_PER_DAY
        )
    # Down across the run-out.
    await wait_seconds_of_wall_clock(max(0.0, (depletes_at - datetime.now(UTC)).total_seconds()) + 1.0)
    assert tap.of(BalanceDepleted, account_id=account_id) == []
    async with running_service(WALLET, settings) as wallet:
        [depleted] = await tap.wait_for(BalanceDepleted, account_id=account_id)

        assert datetime.fromisoformat(depleted.envelope.data["at"]) == depletes_at
        account = await read_account(wallet, platform, account_id)
        assert (account["balance"], account["status"]) == ("0", "depleted")
