"""The wallet's events suspend and resume contracts; RentalChanged versions; replays; cross-account 404; history."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from shared.events.base import Event
from shared.events.provisioning import DeviceProvisioned, DeviceRemoved, DomainCreated
from shared.events.wallet import (
    AccountOpened,
    BalanceDepleted,
    BalanceLow,
    BalanceRestored,
    CreditsLoaded,
    RunwayChanged,
)
from tests.harness import eventually, ready
from tests.integration.contracts.conftest import ISC, ContractsRig, product_name
from tests.integration.contracts.test_life_cycle_and_links import assert_problem


async def contract_status(rig: ContractsRig, contract_id: uuid.UUID) -> str:
    response = await rig.client.get(f"/v1/contracts/{contract_id}", headers=rig.auth("operator"))
    return str(response.json()["status"])


async def test_depletion_suspends_and_refuses_activations_restoration_resumes_and_rentals_survive_both(
    rig: ContractsRig,
) -> None:
    product = product_name()
    account_id, contract_id, _, (rented, spare) = await rig.renting_story(products=[product, product])
    rental = (await rig.activate(contract_id, rented, account_id)).json()
    now = datetime.now(UTC)

    await rig.feed_and_wait(BalanceDepleted(account_id=account_id, at=now, version=5))
    assert await contract_status(rig, contract_id) == "suspended"
    assert_problem(await rig.activate(contract_id, spare, account_id), 409, "contract_not_active")
    suspended = await rig.latest_rental(contract_id, version=4)  # approval, link, activation, suspension
    assert (suspended.active, suspended.burn_rate_per_day) == (False, 0)
    assert [d.device_id for d in suspended.domains[0].devices] == [rented]  # the rental is kept, not running
    await eventually(lambda: ready(rig.events("contract_suspended", contract_id=contract_id)))

    # A late, older runway update (sent before the depletion) changes nothing.
    stale = RunwayChanged(
        account_id=account_id, balance=ISC, burn_rate_per_day=2 * ISC, depletes_at=now, version=4, at=now
    )
    await rig.feed_and_wait(stale)
    assert await contract_status(rig, contract_id) == "suspended"

    await rig.feed_and_wait(BalanceRestored(account_id=account_id, balance=50 * ISC, depletes_at=None, version=6))
    assert await contract_status(rig, contract_id) == "active"
    resumed = await rig.latest_rental(contract_id, version=5)
    assert (resumed.active, resumed.burn_rate_per_day) == (True, 2 * ISC)
    still = await rig.client.get(
        f"/v1/contracts/{contract_id}/rentals/{rental['id']}", headers=rig.auth("customer", account_id)
    )
    assert (still.json()["status"], still.json()["ended_at"]) == ("active", None)
    assert (await rig.activate(contract_id, spare, account_id)).status_code == 201

    # A late depletion older than the restoration is ignored: the contract stays active.
    await rig.feed_and_wait(BalanceDepleted(account_id=account_id, at=now, version=5))
    assert await contract_status(rig, contract_id) == "active"


async def test_rental_changed_versions_only_go_up_and_the_newest_is_the_current_state(rig: ContractsRig) -> None:
    product = product_name()
    account_id, contract_id, _, devices = await rig.renting_story(products=[product] * 8)
    # Many changes at once: activations racing each other and a tariff change (a decrease, so at once) among them.
    results = await asyncio.gather(
        *(rig.activate(contract_id, d, account_id) for d in devices),
        rig.client.put(
            f"/v1/tariffs/{product}", json={"rate_per_day": "1", "licences": []}, headers=rig.auth("operator")
        ),
    )
    assert all(r.status_code in (200, 201) for r in results), [r.text for r in results]
    final = (await rig.client.get(f"/v1/contracts/{contract_id}", headers=rig.auth("operator"))).json()
    newest = await rig.latest_rental(contract_id, version=final["rental_version"])
    versions = sorted(c.version for c in rig.rental_changes(contract_id))
    assert versions == list(range(1, final["rental_version"] + 1))  # every version once, none skipped
    # In commit (outbox) order the versions strictly increase, so a consumer keeping the newest only goes up.
    in_outbox_order = await rig.db.fetch(
        """SELECT (payload->>'version')::bigint AS version FROM outbox_message
           WHERE routing_key = 'contracts.rental_changed' AND payload->>'contract_id' = $1 ORDER BY created_at""",
        str(contract_id),
    )
    ordered = [r["version"] for r in in_outbox_order]
    assert ordered == sorted(ordered)
    # The newest snapshot is exactly the contract's state now.
    assert newest.burn_rate_per_day == 8 * 1 * ISC
    assert final["burn_rate_per_day"] == "8"
    assert {d.device_id for d in newest.domains[0].devices} == set(devices)


async def state_of(db: asyncpg.Pool, account_id: uuid.UUID) -> dict[str, object]:
    contracts = await db.fetch(
        "SELECT id, status, rental_version FROM contract WHERE account_id = $1 ORDER BY id", account_id
    )
    ids = [c["id"] for c in contracts]
    return {
        "contracts": [dict(c) for c in contracts],
        "rentals": [
            dict(r)
            for r in await db.fetch(
                "SELECT id, status, ended_at, end_reason FROM rental WHERE contract_id = ANY($1::uuid[]) ORDER BY id",
                ids,
            )
        ],
        "funding": dict(
            await db.fetchrow("SELECT balance, version, rank FROM account_funding WHERE account_id = $1", account_id)
        ),
        "devices": [
            dict(d)
            for d in await db.fetch(
                "SELECT id, removed_at IS NOT NULL AS removed FROM known_device WHERE account_id = $1 ORDER BY id",
                account_id,
            )
        ],
        "history": await db.fetchval("SELECT count(*) FROM history_entry WHERE account_id = $1", account_id),
        "published": await db.fetchval(
            "SELECT count(*) FROM outbox_message WHERE payload->>'account_id' = $1", str(account_id)
        ),
    }


async def test_replaying_every_event_twice_yields_the_same_state(rig: ContractsRig) -> None:
    product = product_name()
    await rig.tariff(product)
    account_id, domain_id = uuid.uuid4(), uuid.uuid4()
    kept, removed = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)

    def device(device_id: uuid.UUID) -> dict[str, object]:
        return {
            "device_id": device_id,
            "domain_id": domain_id,
            "account_id": account_id,
            "hwid": device_id.hex[:12],
            "product": product,
            "type": "PHONE",
        }

    setup: list[Event] = [
        AccountOpened(account_id=account_id, name="Replay Ltd", opened_by="dev-partner"),
        RunwayChanged(
            account_id=account_id, balance=10 * ISC, burn_rate_per_day=0, depletes_at=None, version=1, at=now
        ),
        CreditsLoaded(account_id=account_id, amount=10 * ISC, key_id=uuid.uuid4(), balance_after=10 * ISC),
        DomainCreated(domain_id=domain_id, account_id=account_id, name="replay.example"),
        DeviceProvisioned(**device(kept)),
        DeviceProvisioned(**device(removed)),
    ]
    first_ids = await rig.feed_and_wait(*setup)
    contract_id = await rig.active_contract(account_id)
    await rig.link(contract_id, domain_id)
    for device_id in (kept, removed):
        assert (await rig.activate(contract_id, device_id, account_id)).status_code == 201
    later: list[Event] = [
        BalanceLow(
            account_id=account_id, time_left_s=3 * 86_400, threshold_s=7 * 86_400, depletes_at=now + timedelta(days=3)
        ),
        BalanceDepleted(account_id=account_id, at=now, version=2),
        BalanceRestored(account_id=account_id, balance=5 * ISC, depletes_at=None, version=3),
        DeviceRemoved(**device(removed)),
    ]
    for event in later:  # one by one: delivered together, the restoration may overtake the depletion
        first_ids += await rig.feed_and_wait(event)
    await rig.latest_rental(contract_id, version=7)  # approval, link, 2 activations, suspend, resume, removal
    before = await state_of(rig.db, account_id)
    assert before["contracts"] == [{"id": contract_id, "status": "active", "rental_version": 7}]

    # Every event again (new message ids, so the inbox cannot help: the handlers must), in reverse order.
    await rig.feed_and_wait(*reversed(setup + later))
    # And every event again with the very same message ids (a relay that crashed before marking them sent).
    duplicates_before = _duplicates()
    await rig.feed_pool.execute("UPDATE outbox_message SET sent_at = NULL WHERE id = ANY($1::uuid[])", first_ids)
    await eventually(lambda: _value(_duplicates()), until=lambda n: n >= duplicates_before + len(first_ids))
    after = await state_of(rig.db, account_id)
    assert after == before


async def test_another_accounts_customer_gets_404_everywhere(rig: ContractsRig) -> None:
    product = product_name()
    account_id, contract_id, domain_id, (device_id, spare) = await rig.renting_story(products=[product, product])
    rental = (await rig.activate(contract_id, device_id, account_id)).json()
    stranger = rig.auth("customer", uuid.uuid4())
    base = f"/v1/contracts/{contract_id}"
    calls = [
        ("GET", base, None),
        ("POST", f"{base}/acceptance", None),
        ("POST", f"{base}/domains", {"domain_id": str(domain_id)}),
        ("DELETE", f"{base}/domains/{domain_id}", None),
        ("GET", f"{base}/hardware", None),
        ("GET", f"{base}/rentals", None),
        ("POST", f"{base}/rentals", {"device_id": str(spare)}),
        ("GET", f"{base}/rentals/{rental['id']}", None),
        ("POST", f"{base}/rentals/{rental['id']}/replacement", {"device_id": str(spare)}),
        ("POST", f"{base}/rentals/{rental['id']}/deactivation", None),
        ("GET", f"{base}/history", None),
    ]
    for method, url, body in calls:
        response = await rig.client.request(method, url, json=body, headers=rig.keyed(stranger))
        assert_problem(response, 404, "not_found")
    listed = await rig.client.get("/v1/contracts", params={"account_id": str(account_id)}, headers=stranger)
    assert listed.json()["items"] == []
    own = await rig.client.get("/v1/contracts", headers=rig.auth("customer", account_id))
    assert [c["id"] for c in own.json()["items"]] == [str(contract_id)]
    # Nothing changed for the owner.
    still = await rig.client.get(f"{base}/rentals/{rental['id']}", headers=rig.auth("customer", account_id))
    assert still.json()["status"] == "active"


async def test_the_history_shows_transitions_rental_and_tariff_changes_and_wallet_events_newest_first_paged(
    rig: ContractsRig,
) -> None:
    product = product_name()
    account_id, contract_id, _, (device_id,) = await rig.renting_story(products=[product])
    rental = (await rig.activate(contract_id, device_id, account_id)).json()
    await rig.tariff(product, "1")  # a decrease: at once (a rise would wait one lease)
    key_id = uuid.uuid4()
    await rig.feed_and_wait(
        CreditsLoaded(account_id=account_id, amount=20 * ISC, key_id=key_id, balance_after=120 * ISC)
    )
    await rig.client.post(
        f"/v1/contracts/{contract_id}/rentals/{rental['id']}/deactivation",
        headers=rig.keyed(rig.auth("customer", account_id)),
    )
    customer = rig.auth("customer", account_id)
    entries: list[dict[str, object]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await rig.client.get(f"/v1/contracts/{contract_id}/history", params=params, headers=customer)).json()
        entries += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    types = [e["type"] for e in entries]
    # Newest first: the deactivation is the last thing that happened, the opening the first.
    assert types[:2] == ["RentalChanged", "DeviceDeactivated"]
    assert types[-1] == "ContractOpened"
    for expected in (
        "ContractAccepted",
        "ContractActivated",
        "DomainLinked",
        "DeviceActivated",
        "TariffChanged",
        "CreditsLoaded",
    ):
        assert expected in types, types
    times = [datetime.fromisoformat(str(e["at"])) for e in entries]
    assert times == sorted(times, reverse=True)
    assert len(entries) == len({(e["at"], e["type"], e["summary"]) for e in entries})  # no page repeated an entry
    credits = next(e for e in entries if e["type"] == "CreditsLoaded")
    assert credits["summary"] == "20 iSC loaded; balance 120 iSC"
    assert credits["data"]["key_id"] == str(key_id)  # type: ignore[index]
    tariff = next(e for e in entries if e["type"] == "TariffChanged")
    assert tariff["summary"] == f"tariff of {product} now 1 iSC/day"
    assert set(entries[0]) == {"at", "type", "summary", "data"}


@pytest.mark.parametrize("cursor", ["not-a-cursor", "bm9wZQ"])
async def test_a_cursor_this_service_did_not_issue_is_refused(rig: ContractsRig, cursor: str) -> None:
    account_id = await rig.funded_account()
    contract_id = await rig.open_contract(account_id)
    response = await rig.client.get(
        f"/v1/contracts/{contract_id}/history", params={"cursor": cursor}, headers=rig.auth("operator")
    )
    assert_problem(response, 400, "invalid_cursor")


def _duplicates() -> float:
    """Messages the contracts inbox recognised as already handled (the consumer runs in this process)."""
    return (
        REGISTRY.get_sample_value("consumer_messages_total", {"queue": "contracts.events", "outcome": "duplicate"})
        or 0.0
    )


async def _value(value: float) -> float:
    return value
