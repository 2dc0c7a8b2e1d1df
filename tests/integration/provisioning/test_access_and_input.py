"""Who may see what (another account's objects are 404 everywhere), and clear refusals of bad input."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.integration.provisioning.conftest import Steps, public_key, random_hwid


async def test_a_customer_asking_for_anything_of_another_account_gets_404_everywhere(world: Steps) -> None:
    owner, domain_id = await world.account_with_domain()
    owner_auth = world.auth("customer", owner)
    gateway = await world.client.post(
        f"/v1/domains/{domain_id}/gateways",
        json={"hwid": random_hwid(), "product": "GW4", "public_key": public_key()},
        headers=owner_auth,
    )
    issued = await world.client.post(f"/v1/domains/{domain_id}/provisioning-codes", json={}, headers=owner_auth)
    async with world.device_client() as phone:
        device = await phone.post(
            "/v1/provisioning",
            json={"code": issued.json()["code"], "hwid": random_hwid(), "product": "D717", "type": "PHONE"},
        )
    assert (gateway.status_code, issued.status_code, device.status_code) == (201, 201, 201)
    gateway_id, code_id, device_id = gateway.json()["id"], issued.json()["id"], device.json()["id"]

    stranger = world.auth("customer", await world.open_account("Other"))
    base = f"/v1/domains/{domain_id}"
    attempts = [
        ("GET", base, None),
        ("POST", f"{base}/gateways", {"hwid": random_hwid(), "product": "GW4", "public_key": public_key()}),
        ("GET", f"{base}/gateways", None),
        ("GET", f"{base}/gateways/{gateway_id}", None),
        ("DELETE", f"{base}/gateways/{gateway_id}", None),
        ("POST", f"{base}/provisioning-codes", {}),
        ("GET", f"{base}/provisioning-codes", None),
        ("POST", f"{base}/provisioning-codes/{code_id}/revocation", None),
        ("GET", f"{base}/devices", None),
        ("GET", f"{base}/devices/{device_id}", None),
        ("DELETE", f"{base}/devices/{device_id}", None),
        ("POST", "/v1/domains", {"account_id": str(owner), "name": "stolen.example"}),
    ]
    for method, path, body in attempts:
        response = await world.client.request(method, path, json=body, headers=stranger)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"

    # Nothing was changed by the stranger, and the owner still sees it all.
    for path in (base, f"{base}/gateways/{gateway_id}", f"{base}/devices/{device_id}"):
        assert (await world.client.get(path, headers=owner_auth)).status_code == 200, path
    codes = await world.client.get(f"{base}/provisioning-codes", headers=owner_auth)
    assert codes.json()["items"][0]["revoked_at"] is None


async def test_objects_of_one_domain_are_not_found_under_another_domain_of_the_same_account(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    other_domain = await world.create_domain(account_id)
    customer = world.auth("customer", account_id)
    gateway = await world.client.post(
        f"/v1/domains/{domain_id}/gateways",
        json={"hwid": random_hwid(), "product": "GW4", "public_key": public_key()},
        headers=customer,
    )
    gateway_id = gateway.json()["id"]
    for method in ("GET", "DELETE"):
        response = await world.client.request(
            method, f"/v1/domains/{other_domain}/gateways/{gateway_id}", headers=customer
        )
        assert response.status_code == 404, method
    assert (
        await world.client.get(f"/v1/domains/{domain_id}/gateways/{gateway_id}", headers=customer)
    ).status_code == 200


@pytest.mark.parametrize("role", ["partner", "operator"])
async def test_partners_and_operators_reach_every_account(world: Steps, role: str) -> None:
    account_id = await world.open_account()
    created = await world.client.post(
        "/v1/domains", json={"account_id": str(account_id), "name": f"{role}.example"}, headers=world.auth(role)
    )
    assert created.status_code == 201, created.text
    read = await world.client.get(f"/v1/domains/{created.json()['id']}", headers=world.auth(role))
    assert read.json()["account_id"] == str(account_id)


async def test_domain_names_are_unique_per_account_only(world: Steps) -> None:
    first, second = await world.open_account(), await world.open_account()
    name = f"shared-{uuid.uuid4().hex[:6]}.example"
    assert await world.create_domain(first, name)
    again = await world.client.post(
        "/v1/domains", json={"account_id": str(first), "name": name}, headers=world.auth("customer", first)
    )
    assert (again.status_code, again.json()["code"]) == (409, "domain_name_taken")
    assert await world.create_domain(second, name)


async def test_a_domain_for_an_account_not_yet_announced_by_the_wallet_is_not_yet_known(world: Steps) -> None:
    response = await world.client.post(
        "/v1/domains", json={"account_id": str(uuid.uuid4()), "name": "early.example"}, headers=world.auth("partner")
    )
    assert (response.status_code, response.json()["code"]) == (409, "not_yet_known")


MALFORMED_HWIDS = ["", "0004f2a1b2c", "0004f2a1b2c3d", "0004f2a1b2cz", "00:04:f2-a1:b2:c3", "0004 f2a1b2c3"]


@pytest.mark.parametrize("hwid", MALFORMED_HWIDS)
async def test_malformed_hardware_ids_are_refused_on_gateways_and_enrolment(world: Steps, hwid: str) -> None:
    account_id, domain_id = await world.account_with_domain()
    gateway = await world.client.post(
        f"/v1/domains/{domain_id}/gateways",
        json={"hwid": hwid, "product": "GW4", "public_key": public_key()},
        headers=world.auth("customer", account_id),
    )
    code = await world.issue_code(account_id, domain_id)
    async with world.device_client() as phone:
        enrolment = await phone.post(
            "/v1/provisioning", json={"code": code, "hwid": hwid, "product": "D717", "type": "PHONE"}
        )
        # The refusal spent nothing: the code still admits a well-formed device.
        good = await phone.post(
            "/v1/provisioning", json={"code": code, "hwid": random_hwid(), "product": "D717", "type": "PHONE"}
        )
    for refused in (gateway, enrolment):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "invalid_hwid"
        assert "12 hexadecimal digits" in refused.json()["detail"]
    assert good.status_code == 201


def not_ed25519_keys() -> list[tuple[str, str]]:
    key = Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def b64url(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return [
        ("31 bytes", b64url(raw[:31])),
        ("33 bytes", b64url(raw + b"\x00")),
        ("SPKI DER of an Ed25519 key", b64url(der)),
        ("hex", raw.hex()),
        ("not base64", "not a key!"),
        ("32 bytes that are no curve point", b64url(b"\xee" + b"\xff" * 30 + b"\x7f")),
        ("the identity point", b64url(b"\x01" + b"\x00" * 31)),
    ]


@pytest.mark.parametrize(("what", "key"), not_ed25519_keys())
async def test_keys_that_are_not_raw_32_byte_ed25519_keys_are_refused(world: Steps, what: str, key: str) -> None:
    account_id, domain_id = await world.account_with_domain()
    response = await world.client.post(
        f"/v1/domains/{domain_id}/gateways",
        json={"hwid": random_hwid(), "product": "GW4", "public_key": key},
        headers=world.auth("customer", account_id),
    )
    assert response.status_code == 422, (what, response.text)
    assert response.json()["code"] == "invalid_public_key", what


async def test_bad_products_types_and_fields_are_refused_with_clear_problems(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    code = await world.issue_code(account_id, domain_id)
    good = {"code": code, "hwid": random_hwid(), "product": "D717", "type": "PHONE"}
    async with world.device_client() as phone:
        bad_product = await phone.post("/v1/provisioning", json={**good, "product": "D7 17/x"})
        bad_type = await phone.post("/v1/provisioning", json={**good, "type": "TOASTER"})
        extra = await phone.post("/v1/provisioning", json={**good, "domain_id": str(domain_id)})
        missing = await phone.post("/v1/provisioning", json={"code": code})
    assert (bad_product.status_code, bad_product.json()["code"]) == (422, "invalid_product")
    for refused in (bad_type, extra, missing):
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_failed")
    assert "type" in bad_type.json()["detail"]
    listed = await world.client.get(
        f"/v1/domains/{domain_id}/devices", params={"type": "TOASTER"}, headers=world.auth("customer", account_id)
    )
    assert listed.status_code == 422


OVERSIZED_PATHS = ["/v1/provisioning", "/v1/domains/{domain_id}/gateways", "/v1/domains/{domain_id}/provisioning-codes"]


@pytest.mark.parametrize("path", OVERSIZED_PATHS)
async def test_oversized_bodies_are_refused_with_413(world: Steps, path: str) -> None:
    account_id, domain_id = await world.account_with_domain()
    body = b'{"code": "' + b"A" * 70_000 + b'"}'
    async with world.device_client() as client:
        response = await client.post(
            path.format(domain_id=domain_id),
            content=body,
            headers={"content-type": "application/json", **world.auth("customer", account_id)},
        )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"


async def test_an_oversized_body_streamed_without_a_length_is_refused_with_413(world: Steps) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 10_000

    async with world.device_client() as client:
        response = await client.post("/v1/provisioning", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text


async def test_a_provisioning_code_lifetime_or_use_count_out_of_range_is_refused(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    customer = world.auth("customer", account_id)
    path = f"/v1/domains/{domain_id}/provisioning-codes"
    too_long = await world.client.post(path, json={"valid_for_s": 31 * 86_400}, headers=customer)
    too_short = await world.client.post(path, json={"valid_for_s": 5}, headers=customer)
    no_uses = await world.client.post(path, json={"max_uses": 0}, headers=customer)
    assert (too_long.status_code, too_long.json()["code"]) == (422, "invalid_code_validity")
    assert (too_short.status_code, too_short.json()["code"]) == (422, "invalid_code_validity")
    assert (no_uses.status_code, no_uses.json()["code"]) == (422, "validation_failed")
    without_body = await world.client.post(path, headers=customer)
    assert without_body.status_code == 201
    assert without_body.json()["max_uses"] == 1


async def test_a_customer_lists_only_their_own_domains_by_name_page_by_page(world: Steps) -> None:
    account_id = await world.open_account()
    names = ["c.example", "a.example", "d.example", "b.example"]
    ids = {name: str(await world.create_domain(account_id, name)) for name in names}
    other_account, other_domain = await world.account_with_domain()
    customer = world.auth("customer", account_id)
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await world.client.get("/v1/domains", params=query, headers=customer)).json()
        seen += [d["name"] for d in page["items"]]
        assert {d["account_id"] for d in page["items"]} <= {str(account_id)}
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(names)
    stranger = await world.client.get("/v1/domains", params={"account_id": str(other_account)}, headers=customer)
    assert stranger.status_code == 404
    partner = await world.client.get(
        "/v1/domains", params={"account_id": str(account_id)}, headers=world.auth("partner")
    )
    assert [d["id"] for d in partner.json()["items"]] == [ids[name] for name in sorted(names)]
    every_id: set[str] = set()
    cursor = None
    while True:
        query = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await world.client.get("/v1/domains", params=query, headers=world.auth("operator"))).json()
        every_id |= {d["id"] for d in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert {str(other_domain), *ids.values()} <= every_id
