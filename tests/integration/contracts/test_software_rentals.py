"""Software rental (issue 16): its tariff, its refusals, its count and end, and what its RentalChanged says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.contracts.conftest import ISC, ContractsRig
from tests.integration.contracts.test_life_cycle_and_links import assert_problem

DAY = 86_400


def licence_type() -> str:
    return f"FAX{uuid.uuid4().hex[:6].upper()}"


async def software_tariff(rig: ContractsRig, kind: str, rate: str, **extra: str) -> dict[str, Any]:
    response = await rig.client.put(
        f"/v1/software-tariffs/{kind}", json={"rate_per_day": rate, **extra}, headers=rig.auth("operator")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_software_rentals_burn_count_times_the_rate_and_go_into_the_domains_licences(rig: ContractsRig) -> None:
    kind = licence_type()
    await software_tariff(rig, kind, "1.5")
    account_id, contract_id, domain_id, (device,) = await rig.renting_story(products=[f"p-{kind.lower()}"], rate="2")
    customer = rig.keyed(rig.auth("customer", account_id))
    assert (await rig.activate(contract_id, device, account_id)).status_code == 201
    started = await rig.client.post(
        f"/v1/contracts/{contract_id}/software-rentals",
        json={"domain_id": str(domain_id), "type": kind, "count": 3},
        headers=customer,
    )
    assert started.status_code == 201, started.text
    rental = started.json()
    assert (rental["count"], rental["rate_per_day"], rental["burn_rate_per_day"]) == (3, "1.5", "4.5")

    changed = await rig.latest_rental(contract_id, version=4)
    assert changed.burn_rate_per_day == (2 + 3 * 1.5) * ISC
    (in_domain,) = changed.domains
    assert {(lic.type, lic.count) for lic in in_domain.licences} == {("PORT", 1), (kind, 3)}

    more = await rig.client.post(
        f"/v1/contracts/{contract_id}/software-rentals/{rental['id']}/count-change",
        json={"count": 5},
        headers=rig.keyed(rig.auth("customer", account_id)),
    )
    assert more.status_code == 200, more.text
    assert (await rig.latest_rental(contract_id, version=5)).burn_rate_per_day == (2 + 5 * 1.5) * ISC

    end_key = rig.keyed(rig.auth("customer", account_id))
    ended = await rig.client.post(
        f"/v1/contracts/{contract_id}/software-rentals/{rental['id']}/ending", headers=end_key
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended"
    replay = await rig.client.post(
        f"/v1/contracts/{contract_id}/software-rentals/{rental['id']}/ending", headers=end_key
    )
    assert replay.json() == ended.json()
    again = await rig.client.post(
        f"/v1/contracts/{contract_id}/software-rentals/{rental['id']}/ending",
        headers=rig.keyed(rig.auth("customer", account_id)),
    )
    assert_problem(again, 409, "rental_not_active")
    last = await rig.latest_rental(contract_id, version=6)
    assert last.burn_rate_per_day == 2 * ISC
    assert {(lic.type, lic.count) for lic in last.domains[0].licences} == {("PORT", 1)}

    history = await rig.client.get(f"/v1/contracts/{contract_id}/history", headers=rig.auth("customer", account_id))
    types = [entry["type"] for entry in history.json()["items"]]
    assert {"SoftwareRentalStarted", "SoftwareRentalChanged", "SoftwareRentalEnded"} <= set(types)


async def test_a_software_rental_is_refused_without_a_tariff_or_a_linked_domain(rig: ContractsRig) -> None:
    kind = licence_type()
    account_id = await rig.funded_account()
    contract_id = await rig.active_contract(account_id)
    linked, _ = await rig.domain_with_devices(account_id, products=[])
    await rig.link(contract_id, linked)
    unlinked, _ = await rig.domain_with_devices(account_id, products=[])

    async def start(domain_id: uuid.UUID) -> object:
        return await rig.client.post(
            f"/v1/contracts/{contract_id}/software-rentals",
            json={"domain_id": str(domain_id), "type": kind, "count": 1},
            headers=rig.keyed(rig.auth("customer", account_id)),
        )

    assert_problem(await start(linked), 409, "licence_type_not_rentable")  # type: ignore[arg-type]
    await software_tariff(rig, kind, "1")
    assert_problem(await start(unlinked), 409, "domain_not_linked")  # type: ignore[arg-type]
    first = await start(linked)
    assert first.status_code == 201  # type: ignore[attr-defined]
    assert_problem(await start(linked), 409, "software_rental_exists")  # type: ignore[arg-type]
    unlink = await rig.client.delete(f"/v1/contracts/{contract_id}/domains/{linked}", headers=rig.auth("operator"))
    assert_problem(unlink, 409, "domain_has_active_rentals")


async def test_a_scheduled_software_tariff_change_reaches_the_contracts_scheduled_rates(rig: ContractsRig) -> None:
    kind = licence_type()
    await software_tariff(rig, kind, "2")
    account_id = await rig.funded_account()
    contract_id = await rig.active_contract(account_id)
    domain_id, _ = await rig.domain_with_devices(account_id, products=[])
    await rig.link(contract_id, domain_id)
    started = await rig.client.post(
        f"/v1/contracts/{contract_id}/software-rentals",
        json={"domain_id": str(domain_id), "type": kind, "count": 2},
        headers=rig.keyed(rig.auth("customer", account_id)),
    )
    assert started.status_code == 201, started.text
    # A decrease may take effect at any instant ahead; the contract announces its whole rate from then on.
    at = datetime.now(UTC) + timedelta(days=3)
    scheduled = await software_tariff(rig, kind, "1", effective_at=at.isoformat())
    assert [s["rate_per_day"] for s in scheduled["scheduled"]] == ["1"]
    changed = await rig.latest_rental(contract_id, version=4)
    assert [(r.effective_at, r.burn_rate_per_day) for r in changed.scheduled_rates] == [(at, 2 * ISC)]
    listed = await rig.client.get("/v1/software-tariffs", headers=rig.auth("customer", account_id))
    assert kind in [t["type"] for t in listed.json()["items"]]
    hardware = await rig.client.get("/v1/tariffs", headers=rig.auth("operator"))
    assert not any(t["product"].startswith("licence:") for t in hardware.json()["items"])
