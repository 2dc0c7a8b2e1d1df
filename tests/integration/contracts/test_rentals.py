"""Renting devices: the Hardware tab, activation and its refusals, deactivation, RMA, races, tariff changes."""

from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import datetime

import asyncpg
import pytest

from shared.events.provisioning import DeviceProvisioned, DeviceRemoved
from tests.harness import eventually, ready
from tests.integration.contracts.conftest import ISC, ContractsRig, device_event, product_name
from tests.integration.contracts.test_life_cycle_and_links import assert_problem


async def test_the_hardware_tab_lists_the_linked_domains_devices_with_rentability_and_rental(rig: ContractsRig) -> None:
    priced, unpriced = product_name(), product_name()
    account_id, contract_id, domain_id, devices = await rig.renting_story(products=[priced, priced])
    _, (unpriced_device,) = await rig.domain_with_devices(account_id, products=[unpriced])  # not linked: not listed
    extra_domain, (stray,) = await rig.domain_with_devices(account_id, products=[unpriced])
    await rig.link(contract_id, extra_domain)
    rental = (await rig.activate(contract_id, devices[0], account_id)).json()

    page = await rig.client.get(f"/v1/contracts/{contract_id}/hardware", headers=rig.auth("customer", account_id))
    assert page.status_code == 200, page.text
    items = {item["device_id"]: item for item in page.json()["items"]}
    assert set(items) == {str(devices[0]), str(devices[1]), str(stray)}
    assert unpriced_device not in items
    assert items[str(devices[0])] == {
        "device_id": str(devices[0]),
        "hwid": devices[0].hex[:12],
        "product": priced,
        "type": "phone",
        "domain_id": str(domain_id),
        "rentable": True,
        "rental_id": rental["id"],
    }
    assert (items[str(devices[1])]["rentable"], items[str(devices[1])]["rental_id"]) == (True, None)
    assert (items[str(stray)]["rentable"], items[str(stray)]["domain_id"]) == (False, str(extra_domain))

    first = await rig.client.get(
        f"/v1/contracts/{contract_id}/hardware", params={"limit": 2}, headers=rig.auth("operator")
    )
    rest = await rig.client.get(
        f"/v1/contracts/{contract_id}/hardware",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=rig.auth("operator"),
    )
    assert rest.json()["next_cursor"] is None
    paged = [i["device_id"] for i in first.json()["items"] + rest.json()["items"]]
    assert sorted(paged) == sorted(items)


async def test_an_activation_publishes_the_fact_and_a_rental_change_with_burn_rate_and_licences(
    rig: ContractsRig,
) -> None:
    product = product_name()
    account_id, contract_id, domain_id, devices = await rig.renting_story(products=[product, product])
    await rig.tariff(product, "2.5", [{"type": "PORT", "count": 2}])
    responses = [await rig.activate(contract_id, device_id, account_id) for device_id in devices]
    assert [r.status_code for r in responses] == [201, 201]
    rental = responses[0].json()
    assert rental["status"] == "active"
    assert rental["rate_per_day"] == "2.5"
    assert (rental["ended_at"], rental["replaced_by"]) == (None, None)
    assert rental["device_id"] == str(devices[0])

    contract = (await rig.client.get(f"/v1/contracts/{contract_id}", headers=rig.auth("operator"))).json()
    assert contract["burn_rate_per_day"] == "5"
    activated = await eventually(lambda: ready(rig.events("device_activated", contract_id=contract_id)))
    assert activated[0].data["rate_per_day"] == int(2.5 * ISC)
    last = await rig.latest_rental(contract_id, version=4)  # approval, link, two activations
    assert last.burn_rate_per_day == 5 * ISC
    assert last.active
    assert [d.domain_id for d in last.domains] == [domain_id]
    assert {d.device_id for d in last.domains[0].devices} == set(devices)
    assert [(lic.type, lic.count) for lic in last.domains[0].licences] == [("PORT", 4)]


async def test_each_activation_refusal_is_problem_json_with_its_own_code(rig: ContractsRig) -> None:
    product, unpriced = product_name(), product_name()
    account_id, contract_id, _, (device_id,) = await rig.renting_story(products=[product])
    _, (unlinked_device,) = await rig.domain_with_devices(account_id, products=[product])
    _, (unpriced_device,) = await rig.domain_with_devices(account_id, products=[unpriced])
    other_account = await rig.funded_account()
    _, (foreign_device,) = await rig.domain_with_devices(other_account, products=[product])

    assert_problem(await rig.activate(contract_id, uuid.uuid4(), account_id), 409, "not_yet_known")
    assert_problem(await rig.activate(contract_id, foreign_device, account_id), 404, "device_not_found")
    assert_problem(await rig.activate(contract_id, unlinked_device, account_id), 409, "domain_not_linked")

    pending = await rig.open_contract(account_id)
    assert_problem(await rig.activate(pending, unlinked_device, account_id), 409, "contract_not_active")

    unfunded = await rig.funded_account(balance=0)
    unfunded_domain, (poor_device,) = await rig.domain_with_devices(unfunded, products=[product])
    unfunded_contract = await rig.active_contract(unfunded)
    await rig.link(unfunded_contract, unfunded_domain)
    assert_problem(await rig.activate(unfunded_contract, poor_device, unfunded), 409, "no_credit")

    assert (await rig.activate(contract_id, device_id, account_id)).status_code == 201
    assert_problem(await rig.activate(contract_id, device_id, account_id), 409, "device_already_rented")

    unpriced_domain = await rig.db.fetchval("SELECT domain_id FROM known_device WHERE id = $1", unpriced_device)
    await rig.link(contract_id, unpriced_domain)
    assert_problem(await rig.activate(contract_id, unpriced_device, account_id), 409, "product_not_rentable")

    removed = await rig.db.fetchrow("SELECT * FROM known_device WHERE id = $1", unlinked_device)
    await rig.link(contract_id, removed["domain_id"])
    await rig.feed_and_wait(
        DeviceRemoved(
            device_id=unlinked_device,
            domain_id=removed["domain_id"],
            account_id=account_id,
            hwid=removed["hwid"],
            product=product,
            type="phone",
        )
    )
    assert_problem(await rig.activate(contract_id, unlinked_device, account_id), 409, "device_removed")
    invalid = await rig.client.post(
        f"/v1/contracts/{contract_id}/rentals",
        json={"device": "x"},
        headers=rig.keyed(rig.auth("customer", account_id)),
    )
    assert_problem(invalid, 422, "validation_failed")


async def test_two_concurrent_activations_of_one_device_end_in_exactly_one_rental(rig: ContractsRig) -> None:
    product = product_name()
    account_id, contract_id, _, (device_id,) = await rig.renting_story(products=[product])
    responses = await asyncio.gather(*(rig.activate(contract_id, device_id, account_id) for _ in range(8)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 7, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"device_already_rented"}
    count = await rig.db.fetchval("SELECT count(*) FROM rental WHERE device_id = $1", device_id)
    assert count == 1


async def test_the_database_itself_refuses_a_second_active_rental_of_one_device(rig: ContractsRig) -> None:
    """The last line of defence if two activations ever passed the checks at once."""
    product = product_name()
    account_id, contract_id, _, (device_id,) = await rig.renting_story(products=[product])
    rental = (await rig.activate(contract_id, device_id, account_id)).json()
    row = await rig.db.fetchrow("SELECT * FROM rental WHERE id = $1", uuid.UUID(rental["id"]))
    with pytest.raises(asyncpg.UniqueViolationError):
        await rig.db.execute(
            """INSERT INTO rental (id, contract_id, domain_id, device_id, hwid, product, status, rate_per_day,
                                   activated_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', 1, now())""",
            uuid.uuid4(),
            row["contract_id"],
            row["domain_id"],
            row["device_id"],
            row["hwid"],
            row["product"],
        )


async def test_deactivation_ends_the_rental_lowers_the_burn_rate_and_cannot_happen_twice(rig: ContractsRig) -> None:
    product = product_name()
    account_id, contract_id, _, devices = await rig.renting_story(products=[product, product])
    customer = rig.auth("customer", account_id)
    rentals = [(await rig.activate(contract_id, d, account_id)).json() for d in devices]
    url = f"/v1/contracts/{contract_id}/rentals/{rentals[0]['id']}/deactivation"
    ended = await rig.client.post(url, headers=rig.keyed(customer))
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "deactivated"
    assert ended.json()["ended_at"] is not None
    assert_problem(await rig.client.post(url, headers=rig.keyed(customer)), 409, "rental_not_active")
    assert_problem(
        await rig.client.post(
            f"/v1/contracts/{contract_id}/rentals/{uuid.uuid4()}/deactivation", headers=rig.keyed(customer)
        ),
        404,
        "rental_not_found",
    )
    contract = (await rig.client.get(f"/v1/contracts/{contract_id}", headers=customer)).json()
    assert contract["burn_rate_per_day"] == "2"
    last = await rig.latest_rental(contract_id, version=5)
    assert [d.device_id for d in last.domains[0].devices] == [devices[1]]
    deactivated = await eventually(lambda: ready(rig.events("device_deactivated", contract_id=contract_id)))
    assert deactivated[0].data["rental_id"] == rentals[0]["id"]
    active_only = await rig.client.get(
        f"/v1/contracts/{contract_id}/rentals", params={"status": "active"}, headers=customer
    )
    assert [r["id"] for r in active_only.json()["items"]] == [rentals[1]["id"]]


async def test_an_rma_carries_the_rental_over_to_the_new_device_without_gap_or_double_charge(
    rig: ContractsRig,
) -> None:
    product = product_name()
    account_id, contract_id, _, (broken, spare) = await rig.renting_story(products=[product, product])
    customer = rig.auth("customer", account_id)
    old = (await rig.activate(contract_id, broken, account_id)).json()
    replaced = await rig.client.post(
        f"/v1/contracts/{contract_id}/rentals/{old['id']}/replacement",
        json={"device_id": str(spare)},
        headers=rig.keyed(customer),
    )
    assert replaced.status_code == 201, replaced.text
    new = replaced.json()
    assert (new["device_id"], new["status"], new["replaces"], new["rate_per_day"]) == (
        str(spare),
        "active",
        old["id"],
        "2",
    )
    old_now = (await rig.client.get(f"/v1/contracts/{contract_id}/rentals/{old['id']}", headers=customer)).json()
    assert (old_now["status"], old_now["replaced_by"]) == ("replaced", new["id"])
    # No gap and no overlap: the old rental ends at the very instant the new one starts.
    assert datetime.fromisoformat(old_now["ended_at"]) == datetime.fromisoformat(new["activated_at"])
    contract = (await rig.client.get(f"/v1/contracts/{contract_id}", headers=customer)).json()
    assert contract["burn_rate_per_day"] == "2"
    last = await rig.latest_rental(contract_id, version=4)
    assert [d.device_id for d in last.domains[0].devices] == [spare]
    assert last.burn_rate_per_day == 2 * ISC
    fact = await eventually(lambda: ready(rig.events("device_replaced", contract_id=contract_id)))
    assert (fact[0].data["old_rental_id"], fact[0].data["new_rental_id"]) == (old["id"], new["id"])

    # The refusals of an RMA.
    new_url = f"/v1/contracts/{contract_id}/rentals/{new['id']}/replacement"
    assert_problem(
        await rig.client.post(new_url, json={"device_id": str(spare)}, headers=rig.keyed(customer)),
        409,
        "replacement_is_same_device",
    )
    assert_problem(
        await rig.client.post(
            f"/v1/contracts/{contract_id}/rentals/{old['id']}/replacement",
            json={"device_id": str(broken)},
            headers=rig.keyed(customer),
        ),
        409,
        "rental_not_active",
    )
    _, (unlinked,) = await rig.domain_with_devices(account_id, products=[product])
    assert_problem(
        await rig.client.post(new_url, json={"device_id": str(unlinked)}, headers=rig.keyed(customer)),
        409,
        "domain_not_linked",
    )


async def test_an_rma_and_a_deactivation_racing_on_one_rental_have_exactly_one_winner(rig: ContractsRig) -> None:
    product = product_name()
    account_id, contract_id, _, devices = await rig.renting_story(products=[product] * 6)
    customer = rig.auth("customer", account_id)
    for round_ in range(3):
        device, spare = devices[2 * round_], devices[2 * round_ + 1]
        rental = (await rig.activate(contract_id, device, account_id)).json()
        base = f"/v1/contracts/{contract_id}/rentals/{rental['id']}"
        replacement, deactivation = await asyncio.gather(
            rig.client.post(f"{base}/replacement", json={"device_id": str(spare)}, headers=rig.keyed(customer)),
            rig.client.post(f"{base}/deactivation", headers=rig.keyed(customer)),
        )
        outcomes = sorted([replacement.status_code, deactivation.status_code])
        assert outcomes in ([200, 409], [201, 409]), (replacement.text, deactivation.text)
        loser = replacement if replacement.status_code == 409 else deactivation
        assert loser.json()["code"] == "rental_not_active"
        active = await rig.db.fetchval(
            "SELECT count(*) FROM rental WHERE contract_id = $1 AND device_id = ANY($2::uuid[]) AND status = 'active'",
            contract_id,
            [device, spare],
        )
        assert active == (1 if replacement.status_code == 201 else 0)


async def test_a_tariff_change_reprices_active_rentals_from_then_on_and_republishes_each_contract(
    rig: ContractsRig,
) -> None:
    product = product_name()
    first_account, first_contract, _, (a,) = await rig.renting_story(products=[product])
    second_account, second_contract, _, (b,) = await rig.renting_story(products=[product])
    await rig.activate(first_contract, a, first_account)
    await rig.activate(second_contract, b, second_account)
    # A decrease (2 → 1.5) takes effect at once; a rise would wait one lease (test_scheduled_tariffs).
    await rig.tariff(product, "1.5", [{"type": "PORT", "count": 1}, {"type": "SEAT", "count": 2}])
    for account_id, contract_id in ((first_account, first_contract), (second_account, second_contract)):
        contract = (await rig.client.get(f"/v1/contracts/{contract_id}", headers=rig.auth("operator"))).json()
        assert contract["burn_rate_per_day"] == "1.5"
        last = await rig.latest_rental(contract_id, version=4)  # approval, link, activation, tariff
        assert last.burn_rate_per_day == 1_500_000
        assert [(lic.type, lic.count) for lic in last.domains[0].licences] == [("PORT", 1), ("SEAT", 2)]
        rentals = await rig.client.get(f"/v1/contracts/{contract_id}/rentals", headers=rig.auth("customer", account_id))
        assert rentals.json()["items"][0]["rate_per_day"] == "1.5"
    tariff = await rig.client.get(f"/v1/tariffs/{product}", headers=rig.auth("customer", first_account))
    assert tariff.json()["rate_per_day"] == "1.5"
    assert_problem(
        await rig.client.put(
            f"/v1/tariffs/{product}", json={"rate_per_day": "1", "licences": []}, headers=rig.auth("partner")
        ),
        403,
        "role_required",
    )
    assert_problem(
        await rig.client.put(f"/v1/tariffs/{product}", json={"rate_per_day": -1}, headers=rig.auth("operator")),
        422,
        "validation_failed",
    )
    assert_problem(
        await rig.client.get(f"/v1/tariffs/{product_name()}", headers=rig.auth("operator")), 404, "tariff_not_found"
    )


async def test_a_device_removed_from_its_domain_ends_its_rental(rig: ContractsRig) -> None:
    product = product_name()
    account_id, contract_id, domain_id, (device_id, kept) = await rig.renting_story(products=[product, product])
    rental = (await rig.activate(contract_id, device_id, account_id)).json()
    await rig.activate(contract_id, kept, account_id)
    removal = device_event(DeviceRemoved, device_id, domain_id=domain_id, account_id=account_id, product=product)
    # A late DeviceProvisioned (delivery order is not guaranteed) must not bring the device back.
    late = DeviceProvisioned(**removal.model_dump())
    await rig.feed_and_wait(removal, late)
    ended = await rig.client.get(
        f"/v1/contracts/{contract_id}/rentals/{rental['id']}", headers=rig.auth("customer", account_id)
    )
    assert (ended.json()["status"], ended.json()["end_reason"]) == ("deactivated", "device_removed")
    last = await rig.latest_rental(contract_id, version=5)
    assert [d.device_id for d in last.domains[0].devices] == [kept]
    hardware = await rig.client.get(f"/v1/contracts/{contract_id}/hardware", headers=rig.auth("operator"))
    assert [i["device_id"] for i in hardware.json()["items"]] == [str(kept)]


async def test_a_device_removed_while_it_is_being_activated_ends_up_without_a_running_rental(
    rig: ContractsRig,
) -> None:
    product = product_name()
    for _ in range(3):
        account_id, contract_id, domain_id, (device_id,) = await rig.renting_story(products=[product])
        removal = device_event(DeviceRemoved, device_id, domain_id=domain_id, account_id=account_id, product=product)
        activation, removal_ids = await asyncio.gather(
            rig.activate(contract_id, device_id, account_id), rig.feed(removal)
        )
        await eventually(functools.partial(rig.consumed, removal_ids))
        # Whichever came first, the removed device does not stay rented.
        if activation.status_code == 201:
            rental = await rig.client.get(
                f"/v1/contracts/{contract_id}/rentals/{activation.json()['id']}", headers=rig.auth("operator")
            )
            assert (rental.json()["status"], rental.json()["end_reason"]) == ("deactivated", "device_removed")
        else:
            assert_problem(activation, 409, "device_removed")
        active = await rig.db.fetchval(
            "SELECT count(*) FROM rental WHERE device_id = $1 AND status = 'active'", device_id
        )
        assert active == 0
