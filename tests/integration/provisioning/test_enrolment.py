"""Enrolment over HTTP: a customer's domain, a gateway, a code typed on a phone, and the events it all publishes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from provisioning.config import Settings
from provisioning.main import SPEC
from shared.events.provisioning import (
    DeviceProvisioned,
    DeviceRemoved,
    DomainCreated,
    GatewayRegistered,
    GatewayRemoved,
)
from tests.harness import EventTap, TestPlatform, clock_of, running_service
from tests.integration.provisioning.conftest import (
    FAILED_ENROLMENTS_ALLOWED,
    Steps,
    public_key,
    random_address,
    random_hwid,
)


async def test_a_phone_enrols_with_a_typed_code_and_every_step_reaches_a_consumer_as_an_event(
    world: Steps, events: EventTap
) -> None:
    account_id = await world.open_account("Acme")
    customer = world.auth("customer", account_id)
    created = await world.client.post(
        "/v1/domains", json={"account_id": str(account_id), "name": "acme.example"}, headers=customer
    )
    assert created.status_code == 201, created.text
    domain_id = created.json()["id"]

    gateway_key = public_key()
    gateway = await world.client.post(
        f"/v1/domains/{domain_id}/gateways",
        json={"hwid": "00:04:F2:AA:BB:01", "product": "GW4", "public_key": gateway_key},
        headers=customer,
    )
    assert gateway.status_code == 201, gateway.text
    assert gateway.json()["hwid"] == "0004f2aabb01"

    issued = await world.client.post(f"/v1/domains/{domain_id}/provisioning-codes", json={}, headers=customer)
    assert issued.status_code == 201, issued.text
    code, expires_at = issued.json()["code"], datetime.fromisoformat(issued.json()["expires_at"])
    assert expires_at - datetime.now(UTC) > timedelta(hours=23, minutes=59)

    hwid = random_hwid()
    async with world.device_client() as phone:
        # Typed on a keypad: lower case, no hyphens. No token.
        enrolled = await phone.post(
            "/v1/provisioning",
            json={"code": code.replace("-", "").lower(), "hwid": hwid.upper(), "product": "D717", "type": "PHONE"},
        )
    assert enrolled.status_code == 201, enrolled.text
    device = enrolled.json()
    assert device["domain_id"] == domain_id
    assert (device["hwid"], device["product"], device["type"]) == (hwid, "D717", "PHONE")

    listed = await world.client.get(f"/v1/domains/{domain_id}/devices", headers=customer)
    assert listed.json()["items"] == [device]
    assert listed.json()["next_cursor"] is None

    removed = await world.client.delete(f"/v1/domains/{domain_id}/devices/{device['id']}", headers=customer)
    assert removed.status_code == 204, removed.text
    gone = await world.client.delete(f"/v1/domains/{domain_id}/gateways/{gateway.json()['id']}", headers=customer)
    assert gone.status_code == 204, gone.text
    assert (await world.client.get(f"/v1/domains/{domain_id}/devices", headers=customer)).json()["items"] == []

    ids = {"domain_id": uuid.UUID(domain_id), "account_id": account_id}
    domain_created = await events.one(DomainCreated, **ids)
    assert domain_created.event == DomainCreated(**ids, name="acme.example")
    registered = await events.one(GatewayRegistered, **ids)
    assert registered.event.hwid == "0004f2aabb01"
    assert registered.event.public_key == gateway_key  # the distributor authenticates the gateway with it
    assert await events.one(GatewayRemoved, **ids, gateway_id=registered.event.gateway_id)
    provisioned = await events.one(DeviceProvisioned, **ids)
    expected = {"device_id": uuid.UUID(device["id"]), "hwid": hwid, "product": "D717", "type": "PHONE"}
    assert provisioned.event == DeviceProvisioned(**ids, **expected)
    assert (await events.one(DeviceRemoved, **ids)).event == DeviceRemoved(**ids, **expected)
    envelope = provisioned.envelope
    assert (envelope.source, envelope.type, envelope.subject) == (
        "/provisioning",
        "provisioning.device_provisioned",
        device["id"],
    )


async def test_enrolling_again_into_the_same_domain_returns_the_same_device_and_publishes_nothing_new(
    world: Steps, events: EventTap
) -> None:
    account_id, domain_id = await world.account_with_domain()
    code = await world.issue_code(account_id, domain_id)
    hwid = random_hwid()
    body = {"code": code, "hwid": hwid, "product": "D717", "type": "PHONE"}
    async with world.device_client() as phone:
        first = await phone.post("/v1/provisioning", json=body)
        # The single use is spent; the same phone asking again (a lost answer, a reset) still gets its device.
        again = await phone.post("/v1/provisioning", json=body)
        other_phone = await phone.post("/v1/provisioning", json={**body, "hwid": random_hwid()})
    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert other_phone.json()["code"] == "provisioning_code_used_up"

    await events.one(DeviceProvisioned, hwid=hwid)
    # A later event of the same domain has arrived, so a second DeviceProvisioned would have too.
    second_code = await world.issue_code(account_id, domain_id)
    marker = random_hwid()
    async with world.device_client() as phone:
        await phone.post("/v1/provisioning", json={**body, "code": second_code, "hwid": marker})
    await events.one(DeviceProvisioned, hwid=marker)
    assert len(events.of(DeviceProvisioned, hwid=hwid)) == 1
    outbox_rows = await world.scalar(
        "SELECT count(*) FROM provisioning.outbox_message WHERE subject = $1", first.json()["id"]
    )
    assert outbox_rows == 1


async def test_a_device_enrolling_again_with_another_product_or_type_is_refused(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    code = await world.issue_code(account_id, domain_id)
    hwid = random_hwid()
    async with world.device_client() as phone:
        first = await phone.post(
            "/v1/provisioning", json={"code": code, "hwid": hwid, "product": "D717", "type": "PHONE"}
        )
        differs = await phone.post(
            "/v1/provisioning", json={"code": code, "hwid": hwid, "product": "D717", "type": "DECT"}
        )
    assert first.status_code == 201
    assert differs.status_code == 409
    assert differs.json()["code"] == "device_details_differ"


async def test_a_single_use_code_lets_exactly_one_of_many_concurrent_enrolments_join(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    code = await world.issue_code(account_id, domain_id)
    responses = await world.enrol_at_once(code, phones=12)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [410] * 11, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 410} == {"provisioning_code_used_up"}
    devices = await world.client.get(f"/v1/domains/{domain_id}/devices", headers=world.auth("operator"))
    assert len(devices.json()["items"]) == 1


async def test_a_code_for_three_devices_admits_exactly_three_of_many_concurrent_enrolments(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    code = await world.issue_code(account_id, domain_id, max_uses=3)
    responses = await world.enrol_at_once(code, phones=10)
    assert sorted(r.status_code for r in responses) == [201] * 3 + [410] * 7
    codes = await world.client.get(f"/v1/domains/{domain_id}/provisioning-codes", headers=world.auth("operator"))
    (listed,) = codes.json()["items"]
    assert (listed["uses"], listed["max_uses"]) == (3, 3)
    assert "code" not in listed  # only ever shown at creation


async def test_the_same_hardware_id_cannot_sit_in_two_domains(world: Steps) -> None:
    account_id, first_domain = await world.account_with_domain()
    second_domain = await world.create_domain(account_id)
    first_code = await world.issue_code(account_id, first_domain)
    second_code = await world.issue_code(account_id, second_domain)
    hwid = random_hwid()
    async with world.device_client() as phone:
        joined = await phone.post(
            "/v1/provisioning", json={"code": first_code, "hwid": hwid, "product": "D717", "type": "PHONE"}
        )
        elsewhere = await phone.post(
            "/v1/provisioning", json={"code": second_code, "hwid": hwid, "product": "D717", "type": "PHONE"}
        )
        assert joined.status_code == 201
        assert elsewhere.status_code == 409
        assert elsewhere.json()["code"] == "hwid_in_other_domain"
        # The refused attempt did not spend the second code: another phone still gets in with it.
        other = await phone.post(
            "/v1/provisioning", json={"code": second_code, "hwid": random_hwid(), "product": "D717", "type": "PHONE"}
        )
        assert other.status_code == 201, other.text
        # Once removed from the first domain, the unit may join the second.
        removed = await world.client.delete(
            f"/v1/domains/{first_domain}/devices/{joined.json()['id']}", headers=world.auth("customer", account_id)
        )
        assert removed.status_code == 204
        moved_code = await world.issue_code(account_id, second_domain)
        moved = await phone.post(
            "/v1/provisioning", json={"code": moved_code, "hwid": hwid, "product": "D717", "type": "PHONE"}
        )
    assert moved.status_code == 201, moved.text
    assert moved.json()["domain_id"] == str(second_domain)
    assert moved.json()["id"] != joined.json()["id"]


async def test_concurrent_enrolments_of_one_unit_into_two_domains_put_it_in_one(world: Steps) -> None:
    account_id, first_domain = await world.account_with_domain()
    second_domain = await world.create_domain(account_id)
    codes = [await world.issue_code(account_id, d) for d in (first_domain, second_domain)]
    hwid = random_hwid()
    async with world.device_client() as phone:
        responses = await asyncio.gather(
            *(
                phone.post("/v1/provisioning", json={"code": c, "hwid": hwid, "product": "D717", "type": "PHONE"})
                for c in codes
            )
        )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    present = await world.scalar(
        "SELECT count(*) FROM provisioning.device WHERE hwid = $1 AND removed_at IS NULL", hwid
    )
    assert present == 1


async def test_a_gateway_of_one_domain_cannot_enrol_as_a_device_of_another(world: Steps) -> None:
    account_id, gateway_domain = await world.account_with_domain()
    other_domain = await world.create_domain(account_id)
    customer = world.auth("customer", account_id)
    hwid = random_hwid()
    registered = await world.client.post(
        f"/v1/domains/{gateway_domain}/gateways",
        json={"hwid": hwid, "product": "GW4", "public_key": public_key()},
        headers=customer,
    )
    assert registered.status_code == 201
    async with world.device_client() as unit:
        elsewhere = await unit.post(
            "/v1/provisioning",
            json={
                "code": await world.issue_code(account_id, other_domain),
                "hwid": hwid,
                "product": "GW4",
                "type": "GW",
            },
        )
        at_home = await unit.post(
            "/v1/provisioning",
            json={
                "code": await world.issue_code(account_id, gateway_domain),
                "hwid": hwid,
                "product": "GW4",
                "type": "GW",
            },
        )
    assert elsewhere.status_code == 409
    assert elsewhere.json()["code"] == "hwid_in_other_domain"
    assert at_home.status_code == 201, at_home.text


async def test_refused_codes_say_whether_they_are_unknown_expired_used_up_or_revoked(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    customer = world.auth("customer", account_id)
    used = await world.issue_code(account_id, domain_id)
    expiring = await world.issue_code(account_id, domain_id, valid_for_s=60)
    revoked = await world.client.post(f"/v1/domains/{domain_id}/provisioning-codes", json={}, headers=customer)
    revocation = await world.client.post(
        f"/v1/domains/{domain_id}/provisioning-codes/{revoked.json()['id']}/revocation", headers=customer
    )
    assert revocation.status_code == 200
    assert revocation.json()["revoked_at"] is not None

    def enrolment(code: str) -> dict[str, str]:
        return {"code": code, "hwid": random_hwid(), "product": "D717", "type": "PHONE"}

    async with world.device_client() as phone:
        assert (await phone.post("/v1/provisioning", json=enrolment(used))).status_code == 201
        used_up = await phone.post("/v1/provisioning", json=enrolment(used))
        unknown = await phone.post("/v1/provisioning", json=enrolment("ZZZZ-ZZZZ-ZZZZ"))
        not_a_code = await phone.post("/v1/provisioning", json=enrolment("hello"))
        revoked_refused = await phone.post("/v1/provisioning", json=enrolment(revoked.json()["code"]))
        # Move the service's clock past the expiry instead of waiting for it.
        clock = clock_of(world.client)
        with clock.held_at(clock.now() + timedelta(seconds=61)):
            expired = await phone.post("/v1/provisioning", json=enrolment(expiring))
    assert (used_up.status_code, used_up.json()["code"]) == (410, "provisioning_code_used_up")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "provisioning_code_unknown")
    assert (not_a_code.status_code, not_a_code.json()["code"]) == (404, "provisioning_code_unknown")
    assert (revoked_refused.status_code, revoked_refused.json()["code"]) == (410, "provisioning_code_revoked")
    assert (expired.status_code, expired.json()["code"]) == (410, "provisioning_code_expired")
    for refused in (used_up, unknown, revoked_refused, expired):
        assert refused.headers["content-type"] == "application/problem+json"


async def test_refused_codes_from_one_address_are_rate_limited_while_other_addresses_carry_on(world: Steps) -> None:
    account_id, domain_id = await world.account_with_domain()
    valid = await world.issue_code(account_id, domain_id, max_uses=2)
    window_s = Settings().enrolment_window_s
    # Pin the service's clock mid-window, so the attempts cannot straddle a window boundary.
    epoch = int(datetime.now(UTC).timestamp())
    mid_window = datetime.fromtimestamp(epoch - epoch % window_s + window_s // 2, tz=UTC)
    clock = clock_of(world.client)

    def enrolment(code: str) -> dict[str, str]:
        return {"code": code, "hwid": random_hwid(), "product": "D717", "type": "PHONE"}

    with clock.held_at(mid_window):
        async with world.device_client() as guesser, world.device_client() as neighbour:
            guesses = [
                await guesser.post("/v1/provisioning", json=enrolment(f"AAAA-BBBB-{i:04d}"))
                for i in range(FAILED_ENROLMENTS_ALLOWED)
            ]
            limited = await guesser.post("/v1/provisioning", json=enrolment("AAAA-BBBB-9999"))
            # Even the right code is refused from this address until the window passes.
            limited_valid = await guesser.post("/v1/provisioning", json=enrolment(valid))
            unaffected = await neighbour.post("/v1/provisioning", json=enrolment(valid))
            with clock.held_at(mid_window + timedelta(seconds=window_s)):
                next_window = await guesser.post("/v1/provisioning", json=enrolment(valid))
    assert [g.json()["code"] for g in guesses] == ["provisioning_code_unknown"] * FAILED_ENROLMENTS_ALLOWED
    assert limited.status_code == 429, limited.text
    assert limited.json()["code"] == "rate_limited"
    assert 0 < limited.json()["retry_after_s"] <= window_s
    assert limited_valid.status_code == 429
    assert unaffected.status_code == 201, unaffected.text
    assert next_window.status_code == 201, next_window.text


async def test_successful_enrolments_do_not_use_up_the_refusal_budget_of_a_site(world: Steps) -> None:
    # A whole site enrols from behind one address: many successes, no refusals, no limit.
    account_id, domain_id = await world.account_with_domain()
    code = await world.issue_code(account_id, domain_id, max_uses=20)
    async with world.device_client() as site:
        responses = [
            await site.post(
                "/v1/provisioning", json={"code": code, "hwid": random_hwid(), "product": "D717", "type": "PHONE"}
            )
            for _ in range(3 * FAILED_ENROLMENTS_ALLOWED)
        ]
    assert {r.status_code for r in responses} == {201}


async def test_enrolment_needs_no_token_but_everything_else_does(world: Steps, provisioning: httpx.AsyncClient) -> None:
    _, domain_id = await world.account_with_domain()
    for method, path in [
        ("POST", f"/v1/domains/{domain_id}/provisioning-codes"),
        ("GET", f"/v1/domains/{domain_id}/devices"),
        ("GET", f"/v1/domains/{domain_id}/gateways"),
    ]:
        response = await provisioning.request(method, path, json={} if method == "POST" else None)
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == "missing_token"


async def test_every_attempt_from_one_address_counts_against_a_larger_budget(
    world: Steps, platform: TestPlatform
) -> None:
    account_id, domain_id = await world.account_with_domain()
    code = await world.issue_code(account_id, domain_id, max_uses=10)
    settings = platform.settings(Settings, enrolment_attempts_per_window=3, enrolment_window_s=3600)
    # A second replica with a small budget: the count lives in Postgres, so replicas share it.
    async with running_service(SPEC, settings) as replica:
        # Mid-window on the replica's clock, so the four attempts share one window.
        epoch = int(datetime.now(UTC).timestamp())
        mid_window = datetime.fromtimestamp(epoch - epoch % 3600 + 1800, tz=UTC)
        transport = httpx.ASGITransport(app=replica.app, client=(random_address(), 5060))  # type: ignore[attr-defined]
        with clock_of(replica).held_at(mid_window):
            async with httpx.AsyncClient(transport=transport, base_url="http://provisioning") as site:
                responses = [
                    await site.post(
                        "/v1/provisioning",
                        json={"code": code, "hwid": random_hwid(), "product": "D717", "type": "PHONE"},
                    )
                    for _ in range(4)
                ]
    assert [r.status_code for r in responses] == [201, 201, 201, 429], [r.text for r in responses]
