"""Auto-iSC in a contract's history, and partners scoped to their accounts, on a real contracts service.

The wallet's Auto-iSC events are fed as the wallet publishes them (outbox, relay, broker); each becomes one line in
the history of the account's contracts, once, however often it is delivered. A partner that did not open the
account (nor was assigned it) finds neither its contracts nor a way to open one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.dev_issuer import issue_token, load_or_create_key
from shared.events.wallet import (
    AccountAssigned,
    AutoReloadChanged,
    AutoReloadFailed,
    AutoReloadTriggered,
    CreditsLoaded,
)
from tests.harness import admin_fetch, eventually
from tests.integration.contracts.conftest import ISC, ContractsRig


async def history_types(rig: ContractsRig, contract_id: str, account_id: uuid.UUID) -> list[str]:
    response = await rig.client.get(
        f"/v1/contracts/{contract_id}/history?limit=200", headers=rig.auth("customer", account_id)
    )
    assert response.status_code == 200, response.text
    return [entry["type"] for entry in response.json()["items"]]


async def test_a_reload_and_a_refused_one_are_one_history_line_each(rig: ContractsRig) -> None:
    account_id = await rig.funded_account()
    contract_id = await rig.active_contract(account_id)
    order_id = uuid.uuid4()
    triggered = AutoReloadTriggered(
        account_id=account_id,
        order_id=order_id,
        partner="dev-partner",
        amount=10 * ISC,
        threshold_s=7 * 86_400,
        time_left_s=7 * 86_400,
        crossing=1,
        depletes_at=None,
    )
    loaded = CreditsLoaded(
        account_id=account_id, amount=10 * ISC, balance_after=20 * ISC, source="auto_reload", order_id=order_id
    )
    failed = AutoReloadFailed(
        account_id=account_id,
        reason="monthly_cap_reached",
        amount=10 * ISC,
        threshold_s=7 * 86_400,
        time_left_s=6 * 86_400,
        crossing=2,
        monthly_cap=10 * ISC,
        reloaded_this_month=10 * ISC,
    )
    # Each fact twice, under other message ids: the history keeps one line of each.
    await rig.feed_and_wait(triggered, loaded, failed, triggered, loaded, failed)
    types = await history_types(rig, str(contract_id), account_id)
    assert types.count("AutoReloadTriggered") == 1
    assert types.count("AutoReloadFailed") == 1
    assert types.count("CreditsLoaded") == 1
    response = await rig.client.get(
        f"/v1/contracts/{contract_id}/history?limit=200", headers=rig.auth("customer", account_id)
    )
    summaries = [e["summary"] for e in response.json()["items"]]
    assert any("by Auto-iSC" in s for s in summaries)
    assert any("this month's limit is reached" in s for s in summaries)


async def test_another_partner_neither_sees_nor_opens_contracts_until_it_is_assigned(rig: ContractsRig) -> None:
    account_id = await rig.funded_account()
    contract_id = await rig.active_contract(account_id)
    token = issue_token(load_or_create_key(rig.platform.dev_dir), roles=["partner"], subject="contracts-stranger")
    stranger = {"Authorization": f"Bearer {token}"}

    assert (await rig.client.get(f"/v1/contracts/{contract_id}", headers=stranger)).status_code == 404
    listed = await rig.client.get(f"/v1/contracts?account_id={account_id}", headers=stranger)
    assert str(contract_id) not in listed.text
    opened = await rig.client.post("/v1/contracts", json={"account_id": str(account_id)}, headers=stranger)
    assert (opened.status_code, opened.json()["code"]) == (404, "not_found")

    await rig.feed_and_wait(AccountAssigned(account_id=account_id, partner="contracts-stranger"))
    seen = await eventually(
        lambda: rig.client.get(f"/v1/contracts/{contract_id}", headers=stranger),
        until=lambda r: r.status_code == 200,
    )
    assert seen.json()["id"] == str(contract_id)


async def test_the_forecast_s_auto_reload_read_model_keeps_the_newest_setting_and_each_reload_once(
    rig: ContractsRig,
) -> None:
    account_id = await rig.funded_account()
    at = datetime(2026, 12, 10, tzinfo=UTC)

    def changed(when: datetime, *, amount: int | None, enabled: bool = True) -> AutoReloadChanged:
        return AutoReloadChanged(
            account_id=account_id,
            enabled=enabled,
            suspended_by_partner=False,
            threshold_s=None if amount is None else 7 * 86_400,
            amount=amount,
            monthly_cap=None if amount is None else 50 * ISC,
            changed_at=when,
        )

    reload = AutoReloadTriggered(
        account_id=account_id,
        order_id=uuid.uuid4(),
        partner="dev-partner",
        amount=10 * ISC,
        threshold_s=7 * 86_400,
        time_left_s=7 * 86_400,
        crossing=1,
        depletes_at=None,
    )
    # The newest first, then an older one and the newest again under other message ids: the newest stays.
    newest = changed(at + timedelta(hours=1), amount=20 * ISC)
    await rig.feed_and_wait(newest, changed(at, amount=10 * ISC), newest, reload, reload)
    [row] = await admin_fetch(
        rig.platform, "SELECT enabled, amount FROM contracts.account_auto_reload WHERE account_id = $1", account_id
    )
    assert (row["enabled"], row["amount"]) == (True, 20 * ISC)
    done = await admin_fetch(
        rig.platform, "SELECT amount FROM contracts.account_auto_reload_done WHERE account_id = $1", account_id
    )
    assert [r["amount"] for r in done] == [10 * ISC]
    # Ended later: not set any more.
    await rig.feed_and_wait(changed(at + timedelta(hours=2), amount=None, enabled=False))
    [ended] = await admin_fetch(
        rig.platform, "SELECT enabled, amount FROM contracts.account_auto_reload WHERE account_id = $1", account_id
    )
    assert (ended["enabled"], ended["amount"]) == (False, None)
