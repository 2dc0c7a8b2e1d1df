"""Burn rates from RentalChanged (through the real broker), the run-out, warnings and settlement."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest

from shared.events.wallet import BalanceDepleted, BalanceLow, BalanceRestored, RunwayChanged
from shared.messaging.consumer import HANDLED
from shared.money import MICRO_PER_ISC, parse_isc
from tests.harness import EventTap, TestPlatform, admin_fetch, eventually, running_service
from tests.integration.wallet.wallet_rig import (
    ONE_ISC_PER_SECOND_PER_DAY,
    account_where,
    burning_account,
    fund,
    handled_by_wallet,
    open_account,
    publish_rental_changed,
    read_account,
    usage_amounts,
)
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

ISC_PER_DAY = MICRO_PER_ISC


@pytest.fixture(scope="module")
async def wallet(platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    # Warnings one second before the run-out, and settlement every second, so both are seen in a test.
    settings = platform.settings(WalletSettings, low_balance_thresholds_s=[1], settle_every_s=1)
    async with running_service(WALLET, settings) as client:
        yield client


async def test_an_account_burns_at_the_sum_of_its_active_contracts(
    wallet: httpx.AsyncClient, platform: TestPlatform, tap: EventTap
) -> None:
    account_id = await open_account(wallet, platform)
    await fund(wallet, platform, account_id, amount="1000")
    first, second = uuid.uuid4(), uuid.uuid4()

    await publish_rental_changed(
        platform, account_id=account_id, contract_id=first, rate_per_day=10 * ISC_PER_DAY, version=1
    )
    await publish_rental_changed(
        platform, account_id=account_id, contract_id=second, rate_per_day=20 * ISC_PER_DAY, version=1
    )
    burning = await account_where(wallet, platform, account_id, burn_rate_per_day="30")
    assert burning["status"] == "funded"
    assert isinstance(burning["depletes_at"], str)
    runways = await tap.wait_for(RunwayChanged, account_id=account_id, count=3)
    assert [r.envelope.data["version"] for r in runways] == sorted(r.envelope.data["version"] for r in runways)
    assert runways[-1].envelope.data["burn_rate_per_day"] == 30 * ISC_PER_DAY

    # A contract that is no longer active draws nothing, whatever it still lists.
    await publish_rental_changed(
        platform, account_id=account_id, contract_id=second, rate_per_day=20 * ISC_PER_DAY, version=2, active=False
    )
    await account_where(wallet, platform, account_id, burn_rate_per_day="10")
    await publish_rental_changed(platform, account_id=account_id, contract_id=first, rate_per_day=0, version=2)
    idle = await account_where(wallet, platform, account_id, burn_rate_per_day="0")
    assert idle["depletes_at"] is None


async def _outbox_count(platform: TestPlatform, account_id: str, routing_key: str) -> int:
    rows = await admin_fetch(
        platform,
        "SELECT count(*) AS n FROM wallet.outbox_message WHERE subject = $1 AND routing_key = $2",
        account_id,
        routing_key,
    )
    return int(rows[0]["n"])


async def test_a_duplicated_or_out_of_order_rental_change_changes_nothing(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    await fund(wallet, platform, account_id, amount="100")
    contract = uuid.uuid4()
    message_id = await publish_rental_changed(
        platform, account_id=account_id, contract_id=contract, rate_per_day=5 * ISC_PER_DAY, version=2
    )
    before = await account_where(wallet, platform, account_id, burn_rate_per_day="5")
    runways_before = await _outbox_count(platform, account_id, "wallet.runway_changed")
    duplicates_before = HANDLED.labels("wallet.events", "duplicate")._value.get()

    # The very same message again (a redelivery), the same version under a new id, and an older version.
    await publish_rental_changed(
        platform,
        account_id=account_id,
        contract_id=contract,
        rate_per_day=5 * ISC_PER_DAY,
        version=2,
        message_id=message_id,
    )
    same_version = await publish_rental_changed(
        platform, account_id=account_id, contract_id=contract, rate_per_day=7 * ISC_PER_DAY, version=2
    )
    older = await publish_rental_changed(
        platform, account_id=account_id, contract_id=contract, rate_per_day=50 * ISC_PER_DAY, version=1
    )
    for handled in (same_version, older):
        await eventually(functools.partial(handled_by_wallet, platform, handled))

    async def duplicates() -> float:
        return float(HANDLED.labels("wallet.events", "duplicate")._value.get())

    await eventually(duplicates, until=lambda seen: seen > duplicates_before)
    after = await read_account(wallet, platform, account_id)
    assert {k: after[k] for k in ("burn_rate_per_day", "depletes_at", "version")} == {
        k: before[k] for k in ("burn_rate_per_day", "depletes_at", "version")
    }
    # Committed with the handler's inbox row, so counting the outbox is exact once the messages are handled.
    assert await _outbox_count(platform, account_id, "wallet.runway_changed") == runways_before
    rows = await admin_fetch(
        platform, "SELECT burn_rate_per_day, version FROM wallet.contract_rate WHERE contract_id = $1", contract
    )
    assert [(r["burn_rate_per_day"], r["version"]) for r in rows] == [(5 * ISC_PER_DAY, 2)]


async def test_at_one_isc_per_second_the_run_out_is_announced_on_time_and_credit_restores_the_account(
    wallet: httpx.AsyncClient, platform: TestPlatform, tap: EventTap
) -> None:
    account_id, depletes_at = await burning_account(
        wallet, platform, amount="2", rate_per_day=ONE_ISC_PER_SECOND_PER_DAY
    )

    [low] = await tap.wait_for(BalanceLow, account_id=account_id)
    [depleted] = await tap.wait_for(BalanceDepleted, account_id=account_id)

    assert low.envelope.data["threshold_s"] == 1
    assert datetime.fromisoformat(depleted.envelope.data["at"]) == depletes_at
    assert timedelta(0) <= depleted.received_at - depletes_at < timedelta(seconds=1)
    account = await read_account(wallet, platform, account_id)
    assert (account["balance"], account["status"], account["depletes_at"]) == ("0", "depleted", None)
    assert sum(await usage_amounts(platform, account_id)) == -2 * MICRO_PER_ISC

    restored_by = await fund(wallet, platform, account_id, amount="1")
    [restored] = await tap.wait_for(BalanceRestored, account_id=account_id)
    assert restored.envelope.data["balance"] == MICRO_PER_ISC
    assert restored.envelope.data["depletes_at"] is not None
    assert restored_by.json()["depletes_at"] is not None
    # The new run-down is announced again, warning included.
    await tap.wait_for(BalanceDepleted, account_id=account_id, count=2)
    assert len(tap.of(BalanceLow, account_id=account_id)) == 2


async def test_usage_is_settled_into_the_ledger_while_the_balance_burns(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    await fund(wallet, platform, account_id, amount="1000")
    await publish_rental_changed(
        platform, account_id=account_id, contract_id=uuid.uuid4(), rate_per_day=ONE_ISC_PER_SECOND_PER_DAY, version=1
    )
    customer = platform.auth("customer", account_id=account_id)

    async def ledger() -> list[dict[str, str]]:
        page = (await wallet.get(f"/v1/accounts/{account_id}/ledger", headers=customer)).json()
        items: list[dict[str, str]] = page["items"]
        return items

    entries = await eventually(ledger, until=lambda items: sum(e["kind"] == "usage" for e in items) >= 2, within=15)
    # Each entry's balance after it is the previous one's plus its amount (newest first).
    amounts = [_micro(e["amount"]) for e in entries]
    balances = [_micro(e["balance_after"]) for e in entries]
    for i in range(len(entries) - 1):
        assert balances[i] == balances[i + 1] + amounts[i]
    assert sum(amounts) == balances[0]


def _micro(text: str) -> int:
    return -parse_isc(text[1:]) if text.startswith("-") else parse_isc(text)


async def test_a_redemption_while_it_burns_settles_the_usage_first_then_loads_the_key(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    account_id = await open_account(wallet, platform)
    await fund(wallet, platform, account_id, amount="1000")
    await publish_rental_changed(
        platform, account_id=account_id, contract_id=uuid.uuid4(), rate_per_day=ONE_ISC_PER_SECOND_PER_DAY, version=1
    )
    await account_where(wallet, platform, account_id, burn_rate_per_day="86400")
    loaded = (await fund(wallet, platform, account_id, amount="50")).json()

    customer = platform.auth("customer", account_id=account_id)
    entries = (await wallet.get(f"/v1/accounts/{account_id}/ledger", headers=customer)).json()["items"]
    newest = next(i for i, e in enumerate(entries) if e["kind"] == "redemption")
    # The redemption's own settlement of the usage due comes just before it (newest first), at the same instant.
    assert entries[newest + 1]["kind"] == "usage"
    assert entries[newest + 1]["at"] == entries[newest]["at"]
    assert entries[newest]["balance_after"] == loaded["balance"]
    amounts = [_micro(e["amount"]) for e in entries]
    balances = [_micro(e["balance_after"]) for e in entries]
    for i in range(len(entries) - 1):
        assert balances[i] == balances[i + 1] + amounts[i]
    assert sum(amounts) == balances[0]
