"""One account whose run-out keeps failing does not hold up the run-outs of the accounts due after it.

The fault is injected in Postgres itself: a trigger refuses to mark one account depleted, as a bug or bad data
would. It is in place before the account starts burning, so its run-out can never slip through first. No other
wallet runs while this test does, so the instance started here is the only scheduler.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from shared.events.wallet import BalanceDepleted
from tests.harness import EventTap, TestPlatform, admin_fetchval, running_service
from tests.integration.wallet.wallet_rig import (
    ONE_ISC_PER_SECOND_PER_DAY,
    fund,
    open_account,
    read_account,
    start_burning,
)
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET


async def refuse_run_out_of(platform: TestPlatform, account_id: str) -> None:
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        await conn.execute(
            """CREATE FUNCTION wallet.injected_fault() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'injected fault: account % refuses to run out', OLD.id; END $$"""
        )
        # DDL takes no parameters: the id is a UUID parsed here, so it is safe to write into the statement.
        await conn.execute(
            f"""CREATE TRIGGER injected_fault BEFORE UPDATE ON wallet.account FOR EACH ROW
                WHEN (OLD.id = '{uuid.UUID(account_id)}' AND NEW.depleted AND NOT OLD.depleted)
                EXECUTE FUNCTION wallet.injected_fault()"""
        )
    finally:
        await conn.close()


async def heal(platform: TestPlatform) -> None:
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        await conn.execute("DROP TRIGGER IF EXISTS injected_fault ON wallet.account")
        await conn.execute("DROP FUNCTION IF EXISTS wallet.injected_fault()")
    finally:
        await conn.close()


async def test_a_failing_account_is_held_back_and_the_accounts_due_after_it_still_run_out(
    platform: TestPlatform, tap: EventTap
) -> None:
    settings = platform.settings(WalletSettings)
    async with running_service(WALLET, settings) as wallet:
        broken = await open_account(wallet, platform, "Broken")
        healthy = await open_account(wallet, platform, "Healthy")
        await fund(wallet, platform, broken, amount="1")
        await refuse_run_out_of(platform, broken)
        try:
            await fund(wallet, platform, healthy, amount="2")
            depletes_at = {}
            for account_id in (broken, healthy):
                depletes_at[account_id] = await start_burning(
                    wallet, platform, account_id, rate_per_day=ONE_ISC_PER_SECOND_PER_DAY
                )
            assert depletes_at[broken] < depletes_at[healthy]
            # The broken account falls due first and fails every time; the healthy one runs out on time anyway.
            [depleted] = await tap.wait_for(BalanceDepleted, account_id=healthy, within=15)
            assert datetime.fromisoformat(depleted.envelope.data["at"]) == depletes_at[healthy]
            assert depleted.received_at - depletes_at[healthy] < (depletes_at[healthy] - depletes_at[broken]) * 5
            assert datetime.now(UTC) > depletes_at[broken]
            assert tap.of(BalanceDepleted, account_id=broken) == []
            # (The API projects the balance to now and shows it as depleted; the stored run-out has not happened.)
            stored = await admin_fetchval(platform, "SELECT depleted FROM wallet.account WHERE id = $1", broken)
            assert stored is False
        finally:
            await heal(platform)
        # Healed, the held-back account is retried after its back-off and runs out at its own instant.
        [late] = await tap.wait_for(BalanceDepleted, account_id=broken, within=20)
        assert datetime.fromisoformat(late.envelope.data["at"]) == depletes_at[broken]
        account = await read_account(wallet, platform, broken)
        assert (account["balance"], account["status"]) == ("0", "depleted")
        assert await admin_fetchval(platform, "SELECT depleted FROM wallet.account WHERE id = $1", broken) is True
