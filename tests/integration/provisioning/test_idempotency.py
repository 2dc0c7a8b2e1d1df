"""Every creating request takes an optional Idempotency-Key: a retry gets the first answer and creates nothing new,
the same key with another body is refused, and a key is scoped to the account acted for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from shared.events.provisioning import DomainCreated, GatewayRegistered
from tests.harness import EventTap
from tests.integration.provisioning.conftest import Steps, public_key, random_hwid


@dataclass
class Retried:
    first: httpx.Response
    again: httpx.Response
    other_body: httpx.Response


async def post_with_one_key(
    world: Steps, path: str, body: dict[str, Any], other_body: dict[str, Any], auth: dict[str, str]
) -> Retried:
    """The request, its retry with the same key, then the same key with another body."""
    headers = {**auth, "Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = await world.client.post(path, json=body, headers=headers)
    again = await world.client.post(path, json=body, headers=headers)
    other = await world.client.post(path, json=other_body, headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused"), other.text
    return Retried(first=first, again=again, other_body=other)


async def test_a_domain_created_again_with_its_key_is_the_first_answer_and_announced_once(
    world: Steps, events: EventTap
) -> None:
    account_id = await world.open_account()
    name = f"pbx-{uuid.uuid4().hex[:8]}.example"
    body = {"account_id": str(account_id), "name": name}
    retried = await post_with_one_key(
        world, "/v1/domains", body, {**body, "name": f"other-{name}"}, world.auth("customer", account_id)
    )
    assert (retried.first.status_code, retried.again.status_code) == (201, 201), retried.again.text
    assert retried.again.json() == retried.first.json()
    assert await world.scalar("SELECT count(*) FROM provisioning.domain WHERE account_id = $1", account_id) == 1
    await events.one(DomainCreated, account_id=account_id)
    # Without the key, the same name again is what it always was.
    plain = await world.client.post("/v1/domains", json=body, headers=world.auth("customer", account_id))
    assert (plain.status_code, plain.json()["code"]) == (409, "domain_name_taken")


async def test_one_key_of_two_accounts_never_meets(world: Steps) -> None:
    headers = {"Idempotency-Key": "the-same-key-everywhere"}
    created = []
    for account_id in (await world.open_account(), await world.open_account()):
        response = await world.client.post(
            "/v1/domains",
            json={"account_id": str(account_id), "name": "pbx.example"},
            headers={**world.auth("customer", account_id), **headers},
        )
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    assert len(set(created)) == 2


async def test_a_gateway_registered_again_with_its_key_is_the_first_answer_and_announced_once(
    world: Steps, events: EventTap
) -> None:
    account_id, domain_id = await world.account_with_domain()
    body = {"hwid": random_hwid(), "product": "GW4", "public_key": public_key()}
    retried = await post_with_one_key(
        world,
        f"/v1/domains/{domain_id}/gateways",
        body,
        {**body, "product": "GW8"},
        world.auth("customer", account_id),
    )
    assert (retried.first.status_code, retried.again.status_code) == (201, 201), retried.again.text
    assert retried.again.json() == retried.first.json()
    assert await world.scalar("SELECT count(*) FROM provisioning.gateway WHERE domain_id = $1", domain_id) == 1
    await events.one(GatewayRegistered, hwid=body["hwid"])


async def test_a_provisioning_code_issued_again_with_its_key_is_not_shown_again_and_not_issued_twice(
    world: Steps,
) -> None:
    account_id, domain_id = await world.account_with_domain()
    retried = await post_with_one_key(
        world,
        f"/v1/domains/{domain_id}/provisioning-codes",
        {"max_uses": 3},
        {"max_uses": 4},
        world.auth("customer", account_id),
    )
    assert retried.first.status_code == 201, retried.first.text
    issued = retried.first.json()
    # The code is kept only as a hash, so the retry is told which code was issued (to revoke it), never the code.
    again = retried.again.json()
    assert (retried.again.status_code, again["code"]) == (409, "provisioning_code_already_shown")
    assert (again["code_id"], again["domain_id"], again["expires_at"]) == (
        issued["id"],
        str(domain_id),
        issued["expires_at"],
    )
    assert issued["code"] not in retried.again.text
    assert (
        await world.scalar("SELECT count(*) FROM provisioning.provisioning_code WHERE domain_id = $1", domain_id) == 1
    )
    stored = await world.scalar(
        "SELECT count(*) FROM provisioning.idempotency_record WHERE response::text LIKE '%' || $1 || '%'",
        issued["code"],
    )
    assert stored == 0


async def test_the_document_offers_the_key_on_every_creating_request_and_says_why_enrolment_needs_none(
    world: Steps,
) -> None:
    paths = (await world.client.get("/openapi.json")).json()["paths"]
    for path in ("/v1/domains", "/v1/domains/{domain_id}/gateways", "/v1/domains/{domain_id}/provisioning-codes"):
        headers = {p["name"]: p for p in paths[path]["post"].get("parameters", []) if p["in"] == "header"}
        assert headers["Idempotency-Key"]["required"] is False, path
    enrolment = paths["/v1/provisioning"]["post"]
    assert "Idempotency-Key" not in {p["name"] for p in enrolment.get("parameters", [])}
    assert "Idempotent by hardware id" in enrolment["description"]
