"""Idempotency-Key: required where the burn rate changes (activation, deactivation, RMA), accepted where something
is created (a contract, a domain link). A retry gives the first answer and does nothing again; the same key with
another body is refused. A key is unique within the operation and the contract's account."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.contracts.conftest import ContractsRig, product_name
from tests.integration.contracts.test_life_cycle_and_links import assert_problem


def twice(first: httpx.Response, again: httpx.Response, status: int) -> None:
    assert (first.status_code, again.status_code) == (status, status), (first.text, again.text)
    assert first.json() == again.json()


async def test_a_request_that_changes_what_is_burnt_needs_an_idempotency_key(rig: ContractsRig) -> None:
    product = product_name()
    account_id, contract_id, _, (device_id, spare) = await rig.renting_story(products=[product, product])
    rental = (await rig.activate(contract_id, device_id, account_id)).json()
    customer = rig.auth("customer", account_id)
    base = f"/v1/contracts/{contract_id}/rentals"
    for url, body in (
        (base, {"device_id": str(spare)}),
        (f"{base}/{rental['id']}/deactivation", {}),
        (f"{base}/{rental['id']}/replacement", {"device_id": str(spare)}),
        (f"/v1/contracts/{contract_id}/termination", {"reason": "leaving"}),
    ):
        headers = rig.auth("partner") if url.endswith("/termination") else customer
        assert_problem(await rig.client.post(url, json=body, headers=headers), 400, "idempotency_key_required")
    rentals = await rig.db.fetch("SELECT id, status FROM rental WHERE contract_id = $1", contract_id)
    assert [(str(r["id"]), r["status"]) for r in rentals] == [(rental["id"], "active")]


async def test_an_activation_retried_with_its_key_returns_the_first_answer_and_rents_once(rig: ContractsRig) -> None:
    product = product_name()
    account_id, contract_id, _, (device_id,) = await rig.renting_story(products=[product])
    headers = rig.keyed(rig.auth("customer", account_id))
    url = f"/v1/contracts/{contract_id}/rentals"
    first = await rig.client.post(url, json={"device_id": str(device_id)}, headers=headers)
    again = await rig.client.post(url, json={"device_id": str(device_id)}, headers=headers)
    twice(first, again, 201)
    assert await rig.db.fetchval("SELECT count(*) FROM rental WHERE device_id = $1", device_id) == 1
    other_body = await rig.client.post(url, json={"device_id": str(uuid.uuid4())}, headers=headers)
    assert_problem(other_body, 422, "idempotency_key_reused")


@pytest.mark.parametrize("change", ["deactivation", "replacement"])
async def test_a_deactivation_or_rma_retried_with_its_key_returns_the_first_answer_and_happens_once(
    rig: ContractsRig, change: str
) -> None:
    product = product_name()
    account_id, contract_id, _, (device_id, spare) = await rig.renting_story(products=[product, product])
    rental = (await rig.activate(contract_id, device_id, account_id)).json()
    headers = rig.keyed(rig.auth("customer", account_id))
    url = f"/v1/contracts/{contract_id}/rentals/{rental['id']}/{change}"
    body = {"device_id": str(spare)} if change == "replacement" else {"reason": "broken"}
    twice(
        await rig.client.post(url, json=body, headers=headers),
        await rig.client.post(url, json=body, headers=headers),
        201 if change == "replacement" else 200,
    )
    assert await rig.db.fetchval("SELECT count(*) FROM rental WHERE contract_id = $1", contract_id) == (
        2 if change == "replacement" else 1
    )
    other = {"device_id": str(device_id)} if change == "replacement" else {"reason": "changed my mind"}
    assert_problem(await rig.client.post(url, json=other, headers=headers), 422, "idempotency_key_reused")


async def test_a_termination_retried_with_its_key_returns_the_first_answer_and_ends_the_rentals_once(
    rig: ContractsRig,
) -> None:
    product = product_name()
    account_id, contract_id, _, (device_id,) = await rig.renting_story(products=[product])
    assert (await rig.activate(contract_id, device_id, account_id)).status_code == 201
    headers = rig.keyed(rig.auth("partner"))
    url = f"/v1/contracts/{contract_id}/termination"
    twice(
        await rig.client.post(url, json={"reason": "moved"}, headers=headers),
        await rig.client.post(url, json={"reason": "moved"}, headers=headers),
        200,
    )
    assert (
        await rig.db.fetchval(
            "SELECT count(*) FROM history_entry WHERE contract_id = $1 AND type = 'ContractTerminated'", contract_id
        )
        == 1
    )
    assert_problem(await rig.client.post(url, json={"reason": "other"}, headers=headers), 422, "idempotency_key_reused")
    # Without the key, a second termination is what it always was: refused, the contract being final.
    assert_problem(
        await rig.client.post(url, json={"reason": "again"}, headers=rig.keyed(rig.auth("partner"))),
        409,
        "contract_already_terminated",
    )


async def test_opening_a_contract_retried_with_its_key_returns_the_first_contract_and_opens_no_other(
    rig: ContractsRig,
) -> None:
    account_id = await rig.funded_account()
    other_account = await rig.funded_account()
    headers = rig.keyed(rig.auth("partner"))
    first = await rig.client.post("/v1/contracts", json={"account_id": str(account_id)}, headers=headers)
    again = await rig.client.post("/v1/contracts", json={"account_id": str(account_id)}, headers=headers)
    twice(first, again, 201)
    assert await rig.db.fetchval("SELECT count(*) FROM contract WHERE account_id = $1", account_id) == 1
    opened = await rig.db.fetchval(
        "SELECT count(*) FROM history_entry WHERE account_id = $1 AND type = 'ContractOpened'", account_id
    )
    assert opened == 1
    # A key is unique within the account acted for: for another account it is that account's own key.
    elsewhere = await rig.client.post("/v1/contracts", json={"account_id": str(other_account)}, headers=headers)
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["id"] != first.json()["id"]
    # Without a key every request opens a contract.
    assert (await rig.open_contract(account_id)) != uuid.UUID(first.json()["id"])


async def test_a_domain_link_retried_with_its_key_returns_the_first_answer_and_links_once(rig: ContractsRig) -> None:
    account_id = await rig.funded_account()
    (domain_id, _), (other_domain, _) = [await rig.domain_with_devices(account_id, products=[]) for _ in range(2)]
    contract_id = await rig.active_contract(account_id)
    headers = rig.keyed(rig.auth("customer", account_id))
    url = f"/v1/contracts/{contract_id}/domains"
    first = await rig.client.post(url, json={"domain_id": str(domain_id)}, headers=headers)
    again = await rig.client.post(url, json={"domain_id": str(domain_id)}, headers=headers)
    twice(first, again, 201)
    assert first.json()["domain_ids"] == [str(domain_id)]
    links = await rig.db.fetchval("SELECT count(*) FROM contract_domain WHERE contract_id = $1", contract_id)
    versions = await rig.db.fetchval("SELECT rental_version FROM contract WHERE id = $1", contract_id)
    assert (links, versions) == (1, 2)  # approval, one link: the retry published no RentalChanged
    other_body = await rig.client.post(url, json={"domain_id": str(other_domain)}, headers=headers)
    assert_problem(other_body, 422, "idempotency_key_reused")
