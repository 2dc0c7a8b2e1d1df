"""Gateways (one hardware id across the platform, removal announced) and the device list (paged, filtered)."""

from __future__ import annotations

import uuid

from shared.events.provisioning import GatewayRegistered, GatewayRemoved
from tests.harness import EventTap
from tests.integration.provisioning.conftest import Steps, public_key, random_hwid


async def test_a_gateway_hwid_is_unique_across_the_platform_until_the_gateway_is_removed(
    world: Steps, events: EventTap
) -> None:
    first_account, first_domain = await world.account_with_domain()
    second_account, second_domain = await world.account_with_domain()
    hwid, key = random_hwid(), public_key()
    body = {"hwid": hwid, "product": "GW4", "public_key": key}
    first = await world.client.post(
        f"/v1/domains/{first_domain}/gateways", json=body, headers=world.auth("customer", first_account)
    )
    assert first.status_code == 201, first.text
    taken = await world.client.post(
        f"/v1/domains/{second_domain}/gateways", json=body, headers=world.auth("customer", second_account)
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "gateway_hwid_taken")
    other_key = await world.client.post(
        f"/v1/domains/{first_domain}/gateways",
        json={**body, "public_key": public_key()},
        headers=world.auth("customer", first_account),
    )
    assert (other_key.status_code, other_key.json()["code"]) == (409, "gateway_hwid_taken")

    removed = await world.client.delete(
        f"/v1/domains/{first_domain}/gateways/{first.json()['id']}", headers=world.auth("customer", first_account)
    )
    assert removed.status_code == 204
    again = await world.client.delete(
        f"/v1/domains/{first_domain}/gateways/{first.json()['id']}", headers=world.auth("customer", first_account)
    )
    assert again.status_code == 404
    moved = await world.client.post(
        f"/v1/domains/{second_domain}/gateways", json=body, headers=world.auth("customer", second_account)
    )
    assert moved.status_code == 201, moved.text

    gone = await events.one(GatewayRemoved, gateway_id=uuid.UUID(first.json()["id"]))
    assert (gone.event.hwid, gone.event.domain_id, gone.event.account_id) == (hwid, first_domain, first_account)
    registered = await events.one(GatewayRegistered, gateway_id=uuid.UUID(moved.json()["id"]))
    assert (registered.event.account_id, registered.event.public_key) == (second_account, key)


async def test_registering_the_same_gateway_again_changes_nothing_and_publishes_once(
    world: Steps, events: EventTap
) -> None:
    account_id, domain_id = await world.account_with_domain()
    customer = world.auth("customer", account_id)
    hwid = random_hwid()
    body = {"hwid": hwid.upper(), "product": "GW4", "public_key": public_key() + "="}
    first = await world.client.post(f"/v1/domains/{domain_id}/gateways", json=body, headers=customer)
    again = await world.client.post(f"/v1/domains/{domain_id}/gateways", json=body, headers=customer)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert not first.json()["public_key"].endswith("=")
    await events.one(GatewayRegistered, hwid=hwid)
    assert (
        await world.scalar("SELECT count(*) FROM provisioning.outbox_message WHERE subject = $1", first.json()["id"])
        == 1
    )


async def test_gateways_are_listed_page_by_page_without_the_removed_ones(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    customer = world.auth("customer", account_id)
    ids = []
    for _ in range(5):
        response = await world.client.post(
            f"/v1/domains/{domain_id}/gateways",
            json={"hwid": random_hwid(), "product": "GW4", "public_key": public_key()},
            headers=customer,
        )
        ids.append(response.json()["id"])
    await world.client.delete(f"/v1/domains/{domain_id}/gateways/{ids[2]}", headers=customer)
    seen: list[str] = []
    cursor = None
    while True:
        page = await world.client.get(
            f"/v1/domains/{domain_id}/gateways",
            params={"limit": 2, **({"cursor": cursor} if cursor else {})},
            headers=customer,
        )
        assert page.status_code == 200, page.text
        seen += [g["id"] for g in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids[0], ids[1], ids[3], ids[4]]


async def test_devices_are_listed_page_by_page_and_filtered_by_type_and_product(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    customer = world.auth("customer", account_id)
    code = await world.issue_code(account_id, domain_id, max_uses=10)
    kinds = [
        ("PHONE", "D717"),
        ("PHONE", "D785"),
        ("DECT", "M900"),
        ("PHONE", "D717"),
        ("GW", "GW4"),
        ("PHONE", "D717"),
    ]
    enrolled = []
    async with world.device_client() as site:
        for device_type, product in kinds:
            response = await site.post(
                "/v1/provisioning", json={"code": code, "hwid": random_hwid(), "product": product, "type": device_type}
            )
            assert response.status_code == 201, response.text
            enrolled.append(response.json())

    async def all_pages(**params: str) -> list[dict[str, object]]:
        items: list[dict[str, object]] = []
        cursor = None
        while True:
            query: dict[str, str | int] = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await world.client.get(f"/v1/domains/{domain_id}/devices", params=query, headers=customer)).json()
            assert len(page["items"]) <= 2
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    assert await all_pages() == enrolled
    assert await all_pages(type="PHONE") == [d for d in enrolled if d["type"] == "PHONE"]
    assert await all_pages(product="D717") == [d for d in enrolled if d["product"] == "D717"]
    assert await all_pages(type="PHONE", product="D785") == [enrolled[1]]
    assert await all_pages(type="ATA") == []

    removed = await world.client.delete(f"/v1/domains/{domain_id}/devices/{enrolled[0]['id']}", headers=customer)
    assert removed.status_code == 204
    assert await all_pages() == enrolled[1:]
    again = await world.client.delete(f"/v1/domains/{domain_id}/devices/{enrolled[0]['id']}", headers=customer)
    assert (again.status_code, again.json()["code"]) == (404, "not_found")
    read = await world.client.get(f"/v1/domains/{domain_id}/devices/{enrolled[1]['id']}", headers=customer)
    assert read.json() == enrolled[1]


async def test_a_cursor_that_this_service_did_not_issue_is_refused(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    response = await world.client.get(
        f"/v1/domains/{domain_id}/devices", params={"cursor": "bm9wZQ"}, headers=world.auth("customer", account_id)
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")


async def test_the_openapi_document_describes_every_provisioning_route(world: Steps) -> None:
    paths = (await world.client.get("/openapi.json")).json()["paths"]
    assert set(paths) >= {
        "/v1/domains",
        "/v1/domains/{domain_id}",
        "/v1/domains/{domain_id}/gateways",
        "/v1/domains/{domain_id}/gateways/{gateway_id}",
        "/v1/domains/{domain_id}/provisioning-codes",
        "/v1/domains/{domain_id}/provisioning-codes/{code_id}/revocation",
        "/v1/provisioning",
        "/v1/domains/{domain_id}/devices",
        "/v1/domains/{domain_id}/devices/{device_id}",
    }
    enrolment = paths["/v1/provisioning"]["post"]
    assert "security" not in enrolment
    assert set(enrolment["responses"]) >= {"200", "201", "404", "409", "410", "422", "429"}
