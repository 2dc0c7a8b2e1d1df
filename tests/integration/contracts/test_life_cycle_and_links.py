"""A contract's life cycle, its domain links and the references to other services' objects."""

from __future__ import annotations

import uuid

import httpx

from shared.events.provisioning import DomainCreated
from shared.events.wallet import AccountOpened
from tests.harness import eventually, ready
from tests.integration.contracts.conftest import ContractsRig, product_name


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code, response.text


async def test_a_contract_becomes_active_only_after_the_customer_accepts_and_an_operator_approves(
    rig: ContractsRig,
) -> None:
    account_id = await rig.funded_account()
    customer = rig.auth("customer", account_id)
    contract_id = await rig.open_contract(account_id)
    read = (await rig.client.get(f"/v1/contracts/{contract_id}", headers=customer)).json()
    assert read["status"] == "draft"
    assert read["domain_ids"] == []
    assert read["burn_rate_per_day"] == "0"

    assert_problem(
        await rig.client.post(f"/v1/contracts/{contract_id}/approval", headers=rig.auth("operator")),
        409,
        "contract_not_pending_approval",
    )
    assert_problem(
        await rig.client.post(f"/v1/contracts/{contract_id}/approval", headers=rig.auth("partner")),
        403,
        "role_required",
    )
    accepted = await rig.client.post(f"/v1/contracts/{contract_id}/acceptance", headers=customer)
    assert accepted.json()["status"] == "pending_approval"
    assert_problem(
        await rig.client.post(f"/v1/contracts/{contract_id}/acceptance", headers=customer), 409, "contract_not_draft"
    )
    approved = await rig.client.post(f"/v1/contracts/{contract_id}/approval", headers=rig.auth("operator"))
    assert approved.json()["status"] == "active"

    await eventually(lambda: ready(rig.events("contract_activated", contract_id=contract_id)))
    first = await rig.latest_rental(contract_id, version=1)
    assert (first.version, first.active, first.burn_rate_per_day, first.domains) == (1, True, 0, [])


async def test_termination_ends_every_rental_releases_the_domains_and_is_final(rig: ContractsRig) -> None:
    product = product_name()
    account_id, contract_id, domain_id, devices = await rig.renting_story(products=[product, product])
    for device_id in devices:
        assert (await rig.activate(contract_id, device_id, account_id)).status_code == 201
    customer = rig.auth("customer", account_id)
    assert_problem(
        await rig.client.post(f"/v1/contracts/{contract_id}/termination", headers=customer), 403, "role_required"
    )
    terminated = await rig.client.post(
        f"/v1/contracts/{contract_id}/termination",
        json={"reason": "customer left"},
        headers=rig.keyed(rig.auth("partner")),
    )
    assert terminated.status_code == 200, terminated.text
    assert terminated.json()["status"] == "terminated"
    assert terminated.json()["domain_ids"] == []
    rentals = (await rig.client.get(f"/v1/contracts/{contract_id}/rentals", headers=customer)).json()["items"]
    assert {(r["status"], r["end_reason"]) for r in rentals} == {("deactivated", "contract_terminated")}
    last = await rig.latest_rental(contract_id, version=5)  # approval, link, two activations, termination
    assert (last.active, last.burn_rate_per_day, last.domains) == (False, 0, [])
    assert_problem(
        await rig.client.post(f"/v1/contracts/{contract_id}/termination", headers=rig.keyed(rig.auth("operator"))),
        409,
        "contract_already_terminated",
    )
    assert_problem(
        await rig.client.post(
            f"/v1/contracts/{contract_id}/domains", json={"domain_id": str(domain_id)}, headers=customer
        ),
        409,
        "contract_already_terminated",
    )
    # The released domain can go to a new contract of the account.
    successor = await rig.active_contract(account_id)
    await rig.link(successor, domain_id)


async def test_references_to_accounts_and_domains_not_yet_known_are_409_not_yet_known_until_the_event_arrives(
    rig: ContractsRig,
) -> None:
    account_id = uuid.uuid4()
    early = await rig.client.post("/v1/contracts", json={"account_id": str(account_id)}, headers=rig.auth("partner"))
    assert_problem(early, 409, "not_yet_known")
    await rig.feed(AccountOpened(account_id=account_id, name="Late Ltd", opened_by="dev-partner"))

    async def open_contract() -> httpx.Response:
        return await rig.client.post("/v1/contracts", json={"account_id": str(account_id)}, headers=rig.auth("partner"))

    opened = await eventually(open_contract, until=lambda r: r.status_code != 409)
    assert opened.status_code == 201
    contract_id = opened.json()["id"]

    domain_id = uuid.uuid4()
    customer = rig.auth("customer", account_id)

    async def link() -> httpx.Response:
        return await rig.client.post(
            f"/v1/contracts/{contract_id}/domains", json={"domain_id": str(domain_id)}, headers=customer
        )

    assert_problem(await link(), 409, "not_yet_known")
    await rig.feed(DomainCreated(domain_id=domain_id, account_id=account_id, name="late.example"))
    linked = await eventually(link, until=lambda r: r.status_code != 409)
    assert linked.status_code == 201
    assert linked.json()["domain_ids"] == [str(domain_id)]


async def test_only_a_domain_of_the_contracts_account_not_linked_elsewhere_can_be_linked(rig: ContractsRig) -> None:
    account_id = await rig.funded_account()
    other_account = await rig.funded_account()
    foreign_domain, _ = await rig.domain_with_devices(other_account, products=[])
    own_domain, _ = await rig.domain_with_devices(account_id, products=[])
    contract_id = await rig.active_contract(account_id)
    second_contract = await rig.active_contract(account_id)
    url = f"/v1/contracts/{contract_id}/domains"

    # Staff learn why; the customer learns nothing about another account's domain.
    assert_problem(
        await rig.client.post(url, json={"domain_id": str(foreign_domain)}, headers=rig.auth("operator")),
        409,
        "domain_of_another_account",
    )
    assert_problem(
        await rig.client.post(url, json={"domain_id": str(foreign_domain)}, headers=rig.auth("customer", account_id)),
        404,
        "not_found",
    )
    await rig.link(contract_id, own_domain)
    assert_problem(
        await rig.client.post(url, json={"domain_id": str(own_domain)}, headers=rig.auth("operator")),
        409,
        "domain_already_linked",
    )
    assert_problem(
        await rig.client.post(
            f"/v1/contracts/{second_contract}/domains",
            json={"domain_id": str(own_domain)},
            headers=rig.auth("operator"),
        ),
        409,
        "domain_linked_elsewhere",
    )


async def test_a_domain_with_rented_devices_cannot_be_unlinked_until_they_are_deactivated(rig: ContractsRig) -> None:
    product = product_name()
    account_id, contract_id, domain_id, (device_id,) = await rig.renting_story(products=[product])
    customer = rig.auth("customer", account_id)
    rental = (await rig.activate(contract_id, device_id, account_id)).json()
    url = f"/v1/contracts/{contract_id}/domains/{domain_id}"
    assert_problem(await rig.client.delete(url, headers=customer), 409, "domain_has_active_rentals")
    deactivated = await rig.client.post(
        f"/v1/contracts/{contract_id}/rentals/{rental['id']}/deactivation", headers=rig.keyed(customer)
    )
    assert deactivated.status_code == 200, deactivated.text
    unlinked = await rig.client.delete(url, headers=customer)
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["domain_ids"] == []
    assert_problem(await rig.client.delete(url, headers=customer), 409, "domain_not_linked")
    # The unlinked domain disappears from the next rental snapshot.
    last = await rig.latest_rental(contract_id, version=5)
    assert last.domains == []
