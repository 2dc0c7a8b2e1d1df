"""Every operation of the four OpenAPI documents against every caller, with the expected answer as data.

The operations come from each app's own `openapi()`, so a new route without a row here fails the suite.
Each request aims at tenant A's real objects; objects a request changes or consumes (a key, a draft
contract, a device to remove...) are made fresh for each caller, so every caller meets the same state and
a wrongly allowed caller would succeed, not stumble on something already gone. A refused answer, and any
answer to another account's customer or to no token, must carry none of tenant A's data that the request
did not itself name.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from shared.dev_issuer import issue_token, load_or_create_key
from shared.openapi import ROLES_HEADING
from shared.runtime import create_app
from tests.harness import eventually
from tests.security.conftest import PRODUCT, SERVICES, JsonBody, SeededPlatform, SeededTenant, Seeder, hwid, public_key

CALLERS = ("anonymous", "owner", "other_customer", "partner", "operator", "other_partner")

# The expected status per caller, in the order of CALLERS: no token, tenant A's customer, tenant B's customer,
# the partner that opened both tenants' accounts, an operator, and another partner (partners are scoped to the
# accounts they opened or were assigned: A's objects are not found for it). 401: no or bad credentials; 403: the
# role may never do this; 404: the object is not visible to this caller (never a hint that it exists).
EXPECTED: dict[str, tuple[int, int, int, int, int, int]] = {
    # wallet
    "wallet GET /healthz": (200, 200, 200, 200, 200, 200),
    "wallet GET /readyz": (200, 200, 200, 200, 200, 200),
    "wallet GET /metrics": (200, 200, 200, 200, 200, 200),
    "wallet POST /v1/accounts": (401, 403, 403, 201, 201, 201),
    "wallet GET /v1/accounts/{account_id}": (401, 200, 404, 200, 200, 404),
    "wallet POST /v1/accounts/{account_id}/redemptions": (401, 201, 404, 201, 201, 404),
    "wallet POST /v1/accounts/{account_id}/adjustments": (401, 403, 403, 403, 201, 403),
    "wallet GET /v1/accounts/{account_id}/ledger": (401, 200, 404, 200, 200, 404),
    "wallet PUT /v1/accounts/{account_id}/warning-thresholds": (401, 200, 404, 200, 200, 404),
    "wallet POST /v1/activation-keys": (401, 403, 403, 201, 201, 201),
    "wallet POST /v1/activation-keys/{key_id}/revocation": (401, 403, 403, 200, 200, 404),
    "wallet GET /v1/accounts/{account_id}/contacts": (401, 200, 404, 200, 200, 404),
    "wallet PUT /v1/accounts/{account_id}/contacts": (401, 200, 404, 200, 200, 404),
    "wallet GET /v1/accounts/{account_id}/email-notices": (401, 200, 404, 200, 200, 404),
    "wallet POST /v1/accounts/{account_id}/webhook-endpoints": (401, 201, 404, 201, 201, 404),
    "wallet GET /v1/accounts/{account_id}/webhook-endpoints": (401, 200, 404, 200, 200, 404),
    "wallet GET /v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}": (401, 200, 404, 200, 200, 404),
    "wallet DELETE /v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}": (401, 204, 404, 204, 204, 404),
    "wallet POST /v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}/reactivation": (
        401,
        200,
        404,
        200,
        200,
        404,
    ),
    "wallet GET /v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}/deliveries": (401, 200, 404, 200, 200, 404),
    "wallet POST /v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay": (
        401,
        202,
        404,
        202,
        202,
        404,
    ),
    # Only an operator assigns an account to a partner (a third one: the other partner stays a stranger to A).
    "wallet PUT /v1/accounts/{account_id}/assigned-partner": (401, 403, 403, 403, 200, 403),
    "wallet PUT /v1/accounts/{account_id}/auto-reload": (401, 200, 404, 200, 200, 404),
    "wallet GET /v1/accounts/{account_id}/auto-reload": (401, 200, 404, 200, 200, 404),
    "wallet DELETE /v1/accounts/{account_id}/auto-reload": (401, 204, 404, 204, 204, 404),
    "wallet PUT /v1/accounts/{account_id}/auto-reload/suspension": (401, 403, 403, 200, 200, 404),
    # Only a partner has orders of its own; an operator reads everyone's.
    "wallet GET /v1/partners/me/orders": (401, 403, 403, 200, 403, 200),
    "wallet GET /v1/reload-orders": (401, 403, 403, 403, 200, 403),
    "wallet POST /v1/test-clocks": (401, 403, 403, 201, 201, 201),
    "wallet GET /v1/test-clocks": (401, 403, 403, 200, 200, 200),
    "wallet GET /v1/test-clocks/{clock_id}": (401, 403, 403, 200, 200, 404),
    "wallet POST /v1/test-clocks/{clock_id}/advance": (401, 403, 403, 202, 202, 404),
    "wallet DELETE /v1/test-clocks/{clock_id}": (401, 403, 403, 204, 204, 404),
    # contracts
    "contracts GET /healthz": (200, 200, 200, 200, 200, 200),
    "contracts GET /readyz": (200, 200, 200, 200, 200, 200),
    "contracts GET /metrics": (200, 200, 200, 200, 200, 200),
    "contracts POST /v1/contracts": (401, 403, 403, 201, 201, 404),
    "contracts GET /v1/contracts": (401, 200, 200, 200, 200, 200),
    "contracts GET /v1/contracts/{contract_id}": (401, 200, 404, 200, 200, 404),
    "contracts POST /v1/contracts/{contract_id}/acceptance": (401, 200, 404, 403, 200, 403),
    "contracts POST /v1/contracts/{contract_id}/approval": (401, 403, 403, 403, 200, 403),
    "contracts POST /v1/contracts/{contract_id}/termination": (401, 403, 403, 200, 200, 404),
    "contracts POST /v1/contracts/{contract_id}/domains": (401, 201, 404, 201, 201, 404),
    "contracts DELETE /v1/contracts/{contract_id}/domains/{domain_id}": (401, 200, 404, 200, 200, 404),
    "contracts GET /v1/contracts/{contract_id}/hardware": (401, 200, 404, 200, 200, 404),
    "contracts POST /v1/contracts/{contract_id}/rentals": (401, 201, 404, 201, 201, 404),
    "contracts GET /v1/contracts/{contract_id}/rentals": (401, 200, 404, 200, 200, 404),
    "contracts GET /v1/contracts/{contract_id}/rentals/{rental_id}": (401, 200, 404, 200, 200, 404),
    "contracts POST /v1/contracts/{contract_id}/rentals/{rental_id}/replacement": (401, 201, 404, 201, 201, 404),
    "contracts POST /v1/contracts/{contract_id}/rentals/{rental_id}/deactivation": (401, 200, 404, 200, 200, 404),
    "contracts GET /v1/contracts/{contract_id}/history": (401, 200, 404, 200, 200, 404),
    "contracts PUT /v1/tariffs/{product}": (401, 403, 403, 403, 200, 403),
    "contracts GET /v1/tariffs/{product}": (401, 200, 200, 200, 200, 200),
    "contracts GET /v1/tariffs": (401, 200, 200, 200, 200, 200),
    "contracts PUT /v1/software-tariffs/{licence_type}": (401, 403, 403, 403, 200, 403),
    "contracts GET /v1/software-tariffs/{licence_type}": (401, 200, 200, 200, 200, 200),
    "contracts GET /v1/software-tariffs": (401, 200, 200, 200, 200, 200),
    "contracts POST /v1/contracts/{contract_id}/software-rentals": (401, 201, 404, 201, 201, 404),
    "contracts GET /v1/contracts/{contract_id}/software-rentals": (401, 200, 404, 200, 200, 404),
    "contracts GET /v1/contracts/{contract_id}/software-rentals/{rental_id}": (401, 200, 404, 200, 200, 404),
    "contracts POST /v1/contracts/{contract_id}/software-rentals/{rental_id}/count-change": (
        401,
        200,
        404,
        200,
        200,
        404,
    ),
    "contracts POST /v1/contracts/{contract_id}/software-rentals/{rental_id}/ending": (401, 200, 404, 200, 200, 404),
    "contracts POST /v1/contracts/{contract_id}/forecast": (401, 200, 404, 200, 200, 404),
    # provisioning
    "provisioning GET /healthz": (200, 200, 200, 200, 200, 200),
    "provisioning GET /readyz": (200, 200, 200, 200, 200, 200),
    "provisioning GET /metrics": (200, 200, 200, 200, 200, 200),
    "provisioning POST /v1/domains": (401, 201, 404, 201, 201, 404),
    "provisioning GET /v1/domains": (401, 200, 200, 200, 200, 200),
    "provisioning GET /v1/domains/{domain_id}": (401, 200, 404, 200, 200, 404),
    "provisioning POST /v1/domains/{domain_id}/gateways": (401, 201, 404, 201, 201, 404),
    "provisioning GET /v1/domains/{domain_id}/gateways": (401, 200, 404, 200, 200, 404),
    "provisioning GET /v1/domains/{domain_id}/gateways/{gateway_id}": (401, 200, 404, 200, 200, 404),
    "provisioning DELETE /v1/domains/{domain_id}/gateways/{gateway_id}": (401, 204, 404, 204, 204, 404),
    "provisioning POST /v1/domains/{domain_id}/provisioning-codes": (401, 201, 404, 201, 201, 404),
    "provisioning GET /v1/domains/{domain_id}/provisioning-codes": (401, 200, 404, 200, 200, 404),
    "provisioning POST /v1/domains/{domain_id}/provisioning-codes/{code_id}/revocation": (401, 200, 404, 200, 200, 404),
    # A device enrols itself with its code alone: a bearer token neither helps nor hurts.
    "provisioning POST /v1/provisioning": (201, 201, 201, 201, 201, 201),
    "provisioning GET /v1/domains/{domain_id}/devices": (401, 200, 404, 200, 200, 404),
    "provisioning GET /v1/domains/{domain_id}/devices/{device_id}": (401, 200, 404, 200, 200, 404),
    "provisioning DELETE /v1/domains/{domain_id}/devices/{device_id}": (401, 204, 404, 204, 204, 404),
    # license-distributor
    "license-distributor GET /healthz": (200, 200, 200, 200, 200, 200),
    "license-distributor GET /readyz": (200, 200, 200, 200, 200, 200),
    "license-distributor GET /metrics": (200, 200, 200, 200, 200, 200),
    # Gateways authenticate with their own key, never with a user's bearer token.
    "license-distributor POST /v1/gateways/{hwid}/challenge": (201, 201, 201, 201, 201, 201),
    "license-distributor GET /v1/gateways/{hwid}/bundle": (401, 401, 401, 401, 401, 401),
    "license-distributor GET /v1/domains/{domain_id}/licences": (401, 200, 404, 200, 200, 404),
    "license-distributor POST /v1/signing-keys/rotation": (401, 403, 403, 403, 202, 403),
    # A rotation nobody asked for: the operator learns it does not exist, everybody else that they may not ask.
    "license-distributor GET /v1/signing-keys/rotations/{rotation_id}": (401, 403, 403, 403, 404, 403),
    # A key made for each caller (the one signing now, so the operator's revocation also rotates).
    "license-distributor POST /v1/signing-keys/{kid}/revocation": (401, 403, 403, 403, 200, 403),
    # Added by the distributor's lifespan, so only in the served document: the keys every gateway trusts.
    "license-distributor GET /.well-known/jwks.json": (200, 200, 200, 200, 200, 200),
}

# What a caller may learn of tenant A by right: a device holding A's provisioning code enrols into A's
# domain, so the device it gets back names that domain (the code is the credential, not a token).
DISCLOSED: dict[str, tuple[str, ...]] = {
    "provisioning POST /v1/provisioning": ("domain_id",),
}


@dataclass
class Call:
    method: str
    url: str
    json: JsonBody | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return self.url + json.dumps(self.json or {}) + json.dumps(self.headers)


# How a row of the matrix makes its request: every builder takes both, a builder that needs only one names the
# other with a leading underscore.
Build = Callable[[Seeder, SeededTenant], Awaitable[Call]]


def fixed(method: str, url: str, json_body: JsonBody | None = None, *, money: bool = False) -> Build:
    """A request on tenant A's shared objects (`{...}` filled from the tenant): nothing is consumed."""

    async def build(_seeder: Seeder, a: SeededTenant) -> Call:
        headers = {"Idempotency-Key": uuid.uuid4().hex} if money else {}
        names = {**vars(a), "product": PRODUCT}
        body = {k: v.format(**names) if isinstance(v, str) else v for k, v in json_body.items()} if json_body else None
        return Call(method, url.format(**names), body, headers)

    return build


async def _redemption(seeder: Seeder, a: SeededTenant) -> Call:
    key = await seeder.key("1")
    return Call(
        "POST",
        f"/v1/accounts/{a.account_id}/redemptions",
        {"code": key["code"]},
        {"Idempotency-Key": uuid.uuid4().hex},
    )


async def _revocation(seeder: Seeder, _a: SeededTenant) -> Call:
    key = await seeder.key("1")
    return Call("POST", f"/v1/activation-keys/{key['id']}/revocation", None, {"Idempotency-Key": uuid.uuid4().hex})


def _contract_in(status: str, action: str, json_body: JsonBody | None = None, *, money: bool = False) -> Build:
    async def build(seeder: Seeder, a: SeededTenant) -> Call:
        contract_id = await seeder.contract(a, status=status)
        return Call("POST", f"/v1/contracts/{contract_id}/{action}", json_body, seeder.money({}) if money else {})

    return build


async def _link(seeder: Seeder, a: SeededTenant) -> Call:
    domain_id, _ = await seeder.domain(a)
    return Call("POST", f"/v1/contracts/{a.contract_id}/domains", {"domain_id": domain_id})


async def _unlink(seeder: Seeder, a: SeededTenant) -> Call:
    domain_id, _ = await seeder.domain(a)
    await seeder.link(a, contract_id=a.contract_id, domain_id=domain_id)
    return Call("DELETE", f"/v1/contracts/{a.contract_id}/domains/{domain_id}")


async def _activation(seeder: Seeder, a: SeededTenant) -> Call:
    device = await seeder.device(a, rentable=True)
    return Call("POST", f"/v1/contracts/{a.contract_id}/rentals", {"device_id": device["id"]}, seeder.money({}))


async def _replacement(seeder: Seeder, a: SeededTenant) -> Call:
    rented = await seeder.device(a, rentable=True)
    rental_id = await seeder.rental(a, device_id=str(rented["id"]))
    spare = await seeder.device(a, rentable=True)
    return Call(
        "POST",
        f"/v1/contracts/{a.contract_id}/rentals/{rental_id}/replacement",
        {"device_id": spare["id"]},
        seeder.money({}),
    )


async def _deactivation(seeder: Seeder, a: SeededTenant) -> Call:
    rented = await seeder.device(a, rentable=True)
    rental_id = await seeder.rental(a, device_id=str(rented["id"]))
    return Call("POST", f"/v1/contracts/{a.contract_id}/rentals/{rental_id}/deactivation", {}, seeder.money({}))


async def _create_domain(_seeder: Seeder, a: SeededTenant) -> Call:
    return Call("POST", "/v1/domains", {"account_id": a.account_id, "name": f"n{uuid.uuid4().hex[:10]}.example"})


async def _register_gateway(_seeder: Seeder, a: SeededTenant) -> Call:
    body = {"hwid": hwid(), "product": "GW-SEC", "public_key": public_key()}
    return Call("POST", f"/v1/domains/{a.domain_id}/gateways", body)


async def _remove_gateway(seeder: Seeder, a: SeededTenant) -> Call:
    gateway = await seeder.gateway(a)
    return Call("DELETE", f"/v1/domains/{a.domain_id}/gateways/{gateway['id']}")


async def _revoke_code(seeder: Seeder, a: SeededTenant) -> Call:
    code = await seeder.provisioning_code(a)
    return Call("POST", f"/v1/domains/{a.domain_id}/provisioning-codes/{code['id']}/revocation")


async def _enrol(seeder: Seeder, a: SeededTenant) -> Call:
    code = await seeder.provisioning_code(a)
    return Call("POST", "/v1/provisioning", {"code": code["code"], "hwid": hwid(), "product": PRODUCT, "type": "PHONE"})


async def _remove_device(seeder: Seeder, a: SeededTenant) -> Call:
    device = await seeder.device(a, rentable=False)
    return Call("DELETE", f"/v1/domains/{a.domain_id}/devices/{device['id']}")


# A public name that never answers (no request of the matrix waits for a delivery to succeed).
WEBHOOK_URL = "https://hooks.example.com/matrix"


async def _webhook_endpoint(seeder: Seeder, a: SeededTenant) -> str:
    body = await seeder.ok(
        "wallet",
        "POST",
        f"/v1/accounts/{a.account_id}/webhook-endpoints",
        headers=seeder.partner,
        json={"url": WEBHOOK_URL},
    )
    return str(body["id"])


def _on_webhook_endpoint(method: str, action: str = "") -> Build:
    """A request on a fresh endpoint of tenant A (a deletion must not meet one already deleted)."""

    async def build(seeder: Seeder, a: SeededTenant) -> Call:
        endpoint_id = await _webhook_endpoint(seeder, a)
        return Call(method, f"/v1/accounts/{a.account_id}/webhook-endpoints/{endpoint_id}{action}")

    return build


async def _replay(seeder: Seeder, a: SeededTenant) -> Call:
    endpoint_id = await _webhook_endpoint(seeder, a)
    # An event of A once the endpoint exists (credits loaded), so that it has a delivery to replay.
    key = await seeder.key("1")
    await seeder.ok(
        "wallet",
        "POST",
        f"/v1/accounts/{a.account_id}/redemptions",
        headers=seeder.money(seeder.partner),
        json={"code": key["code"]},
    )
    path = f"/v1/accounts/{a.account_id}/webhook-endpoints/{endpoint_id}/deliveries"

    async def deliveries() -> list[dict[str, object]]:
        body = await seeder.ok("wallet", "GET", path, headers=seeder.operator)
        items: list[dict[str, object]] = body["items"]  # type: ignore[assignment]
        return items

    [delivery] = await eventually(deliveries, until=lambda items: len(items) == 1, within=20)
    return Call("POST", f"{path}/{delivery['id']}/replay")


# Tenant A burns 1 iSC a day on 1000 iSC: a week's threshold is years away, so no reload happens in the run.
AUTO_RELOAD = {"threshold_days": 7, "amount": "10", "monthly_cap": "100", "enabled": True}


def _on_auto_reload(method: str, action: str = "", json_body: JsonBody | None = None) -> Build:
    """A request on tenant A's Auto-iSC, set (again) by an operator first, so a deletion always meets one."""

    async def build(seeder: Seeder, a: SeededTenant) -> Call:
        path = f"/v1/accounts/{a.account_id}/auto-reload"
        await seeder.ok("wallet", "PUT", path, headers=seeder.operator, json=AUTO_RELOAD)
        return Call(method, f"{path}{action}", json_body)

    return build


def _on_test_clock(method: str, action: str = "", json_body: JsonBody | None = None) -> Build:
    """A request on a fresh test clock of tenant A's partner (an advance or a deletion must meet one untouched)."""

    async def build(seeder: Seeder, _a: SeededTenant) -> Call:
        clock = await seeder.ok(
            "wallet",
            "POST",
            "/v1/test-clocks",
            headers=seeder.money(seeder.partner),
            json={"name": "Matrix clock", "frozen_time": "2027-01-01T00:00:00Z"},
        )
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}
        return Call(method, f"/v1/test-clocks/{clock['id']}{action}", json_body, headers)

    return build


async def _pull(seeder: Seeder, a: SeededTenant) -> Call:
    challenge = await seeder.ok("license-distributor", "POST", f"/v1/gateways/{a.gateway_hwid}/challenge", headers={})
    # A real challenge and a signature by no gateway key: only the gateway's own key may pull.
    forged = "A" * 86
    return Call(
        "GET",
        f"/v1/gateways/{a.gateway_hwid}/bundle",
        None,
        {"X-Gateway-Nonce": str(challenge["nonce"]), "X-Gateway-Signature": forged},
    )


async def _revoke_signing_key(seeder: Seeder, _a: SeededTenant) -> Call:
    rotated = await seeder.call("license-distributor", "POST", "/v1/signing-keys/rotation", headers=seeder.operator)
    assert rotated.status_code == 202, rotated.text
    kid = rotated.json()["kid"]
    return Call("POST", f"/v1/signing-keys/{kid}/revocation", None, {"Idempotency-Key": uuid.uuid4().hex})


async def _software_tariff(seeder: Seeder) -> str:
    """A licence type of its own per call (one live rental per domain and type), with a tariff: a micro-iSC a
    day, so the rentals made here barely move the tenant's burn (Auto-iSC's rows need 30 days' worth loaded)."""
    licence_type = f"MX{uuid.uuid4().hex[:10].upper()}"
    await seeder.ok(
        "contracts",
        "PUT",
        f"/v1/software-tariffs/{licence_type}",
        headers=seeder.operator,
        json={"rate_per_day": "0.000001"},
    )
    return licence_type


async def _get_software_tariff(seeder: Seeder, _a: SeededTenant) -> Call:
    return Call("GET", f"/v1/software-tariffs/{await _software_tariff(seeder)}")


async def _start_software_rental(seeder: Seeder, a: SeededTenant) -> Call:
    body = {"domain_id": a.domain_id, "type": await _software_tariff(seeder), "count": 1}
    return Call("POST", f"/v1/contracts/{a.contract_id}/software-rentals", body, seeder.money({}))


async def _software_rental(seeder: Seeder, a: SeededTenant) -> str:
    body = {"domain_id": a.domain_id, "type": await _software_tariff(seeder), "count": 1}
    rental = await seeder.ok(
        "contracts",
        "POST",
        f"/v1/contracts/{a.contract_id}/software-rentals",
        headers=seeder.money(seeder.operator),
        json=body,
    )
    return str(rental["id"])


def _on_software_rental(method: str, suffix: str = "", json_body: JsonBody | None = None) -> Build:
    async def build(seeder: Seeder, a: SeededTenant) -> Call:
        rental_id = await _software_rental(seeder, a)
        headers = seeder.money({}) if method == "POST" else {}
        return Call(method, f"/v1/contracts/{a.contract_id}/software-rentals/{rental_id}{suffix}", json_body, headers)

    return build


CASES: dict[str, Build] = {
    **{
        f"{service} GET {probe}": fixed("GET", probe)
        for service in SERVICES
        for probe in ("/healthz", "/readyz", "/metrics")
    },
    "wallet POST /v1/accounts": fixed("POST", "/v1/accounts", {"name": "Matrix Ltd"}),
    "wallet GET /v1/accounts/{account_id}": fixed("GET", "/v1/accounts/{account_id}"),
    "wallet POST /v1/accounts/{account_id}/redemptions": _redemption,
    "wallet POST /v1/accounts/{account_id}/adjustments": fixed(
        "POST",
        "/v1/accounts/{account_id}/adjustments",
        {"direction": "credit", "amount": "1", "reason": "matrix"},
        money=True,
    ),
    "wallet GET /v1/accounts/{account_id}/ledger": fixed("GET", "/v1/accounts/{account_id}/ledger"),
    "wallet PUT /v1/accounts/{account_id}/warning-thresholds": fixed(
        "PUT", "/v1/accounts/{account_id}/warning-thresholds", {"thresholds_s": None}
    ),
    "wallet POST /v1/activation-keys": fixed("POST", "/v1/activation-keys", {"amount": "1", "count": 1}, money=True),
    "wallet POST /v1/activation-keys/{key_id}/revocation": _revocation,
    "wallet GET /v1/accounts/{account_id}/contacts": fixed("GET", "/v1/accounts/{account_id}/contacts"),
    "wallet PUT /v1/accounts/{account_id}/contacts": fixed(
        "PUT", "/v1/accounts/{account_id}/contacts", {"emails": ["ops@matrix.example"]}
    ),
    "wallet GET /v1/accounts/{account_id}/email-notices": fixed("GET", "/v1/accounts/{account_id}/email-notices"),
    "wallet POST /v1/accounts/{account_id}/webhook-endpoints": fixed(
        "POST", "/v1/accounts/{account_id}/webhook-endpoints", {"url": WEBHOOK_URL}
    ),
    "wallet GET /v1/accounts/{account_id}/webhook-endpoints": fixed(
        "GET", "/v1/accounts/{account_id}/webhook-endpoints"
    ),
    "wallet GET /v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}": _on_webhook_endpoint("GET"),
    "wallet DELETE /v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}": _on_webhook_endpoint("DELETE"),
    "wallet POST /v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}/reactivation": _on_webhook_endpoint(
        "POST", "/reactivation"
    ),
    "wallet GET /v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}/deliveries": _on_webhook_endpoint(
        "GET", "/deliveries"
    ),
    "wallet POST /v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay": _replay,
    "wallet PUT /v1/accounts/{account_id}/assigned-partner": fixed(
        "PUT", "/v1/accounts/{account_id}/assigned-partner", {"partner": "matrix-assigned-partner"}
    ),
    "wallet PUT /v1/accounts/{account_id}/auto-reload": fixed(
        "PUT", "/v1/accounts/{account_id}/auto-reload", AUTO_RELOAD
    ),
    "wallet GET /v1/accounts/{account_id}/auto-reload": _on_auto_reload("GET"),
    "wallet DELETE /v1/accounts/{account_id}/auto-reload": _on_auto_reload("DELETE"),
    "wallet PUT /v1/accounts/{account_id}/auto-reload/suspension": _on_auto_reload(
        "PUT", "/suspension", {"suspended": False}
    ),
    "wallet GET /v1/partners/me/orders": fixed("GET", "/v1/partners/me/orders"),
    "wallet GET /v1/reload-orders": fixed("GET", "/v1/reload-orders"),
    "wallet POST /v1/test-clocks": fixed(
        "POST", "/v1/test-clocks", {"name": "Matrix clock", "frozen_time": "2027-01-01T00:00:00Z"}, money=True
    ),
    "wallet GET /v1/test-clocks": fixed("GET", "/v1/test-clocks"),
    "wallet GET /v1/test-clocks/{clock_id}": _on_test_clock("GET"),
    "wallet POST /v1/test-clocks/{clock_id}/advance": _on_test_clock(
        "POST", "/advance", {"to": "2027-01-02T00:00:00Z"}
    ),
    "wallet DELETE /v1/test-clocks/{clock_id}": _on_test_clock("DELETE"),
    "contracts POST /v1/contracts": fixed("POST", "/v1/contracts", {"account_id": "{account_id}"}),
    "contracts GET /v1/contracts": fixed("GET", "/v1/contracts"),
    "contracts GET /v1/contracts/{contract_id}": fixed("GET", "/v1/contracts/{contract_id}"),
    "contracts POST /v1/contracts/{contract_id}/acceptance": _contract_in("draft", "acceptance"),
    "contracts POST /v1/contracts/{contract_id}/approval": _contract_in("pending_approval", "approval"),
    "contracts POST /v1/contracts/{contract_id}/termination": _contract_in("active", "termination", {}, money=True),
    "contracts POST /v1/contracts/{contract_id}/domains": _link,
    "contracts DELETE /v1/contracts/{contract_id}/domains/{domain_id}": _unlink,
    "contracts GET /v1/contracts/{contract_id}/hardware": fixed("GET", "/v1/contracts/{contract_id}/hardware"),
    "contracts POST /v1/contracts/{contract_id}/rentals": _activation,
    "contracts GET /v1/contracts/{contract_id}/rentals": fixed("GET", "/v1/contracts/{contract_id}/rentals"),
    "contracts GET /v1/contracts/{contract_id}/rentals/{rental_id}": fixed(
        "GET", "/v1/contracts/{contract_id}/rentals/{rental_id}"
    ),
    "contracts POST /v1/contracts/{contract_id}/rentals/{rental_id}/replacement": _replacement,
    "contracts POST /v1/contracts/{contract_id}/rentals/{rental_id}/deactivation": _deactivation,
    "contracts GET /v1/contracts/{contract_id}/history": fixed("GET", "/v1/contracts/{contract_id}/history"),
    "contracts PUT /v1/tariffs/{product}": fixed(
        "PUT", "/v1/tariffs/{product}", {"rate_per_day": "1", "licences": [{"type": "PORT", "count": 1}]}
    ),
    "contracts GET /v1/tariffs/{product}": fixed("GET", "/v1/tariffs/{product}"),
    "contracts GET /v1/tariffs": fixed("GET", "/v1/tariffs"),
    "contracts PUT /v1/software-tariffs/{licence_type}": fixed(
        "PUT", "/v1/software-tariffs/MATRIX_LICENCE", {"rate_per_day": "1"}
    ),
    "contracts GET /v1/software-tariffs/{licence_type}": _get_software_tariff,
    "contracts GET /v1/software-tariffs": fixed("GET", "/v1/software-tariffs"),
    "contracts POST /v1/contracts/{contract_id}/software-rentals": _start_software_rental,
    "contracts GET /v1/contracts/{contract_id}/software-rentals": fixed(
        "GET", "/v1/contracts/{contract_id}/software-rentals"
    ),
    "contracts GET /v1/contracts/{contract_id}/software-rentals/{rental_id}": _on_software_rental("GET"),
    "contracts POST /v1/contracts/{contract_id}/software-rentals/{rental_id}/count-change": _on_software_rental(
        "POST", "/count-change", {"count": 2}
    ),
    "contracts POST /v1/contracts/{contract_id}/software-rentals/{rental_id}/ending": _on_software_rental(
        "POST", "/ending", {}
    ),
    "contracts POST /v1/contracts/{contract_id}/forecast": fixed(
        "POST", "/v1/contracts/{contract_id}/forecast", {"activate": []}
    ),
    "provisioning POST /v1/domains": _create_domain,
    "provisioning GET /v1/domains": fixed("GET", "/v1/domains"),
    "provisioning GET /v1/domains/{domain_id}": fixed("GET", "/v1/domains/{domain_id}"),
    "provisioning POST /v1/domains/{domain_id}/gateways": _register_gateway,
    "provisioning GET /v1/domains/{domain_id}/gateways": fixed("GET", "/v1/domains/{domain_id}/gateways"),
    "provisioning GET /v1/domains/{domain_id}/gateways/{gateway_id}": fixed(
        "GET", "/v1/domains/{domain_id}/gateways/{gateway_id}"
    ),
    "provisioning DELETE /v1/domains/{domain_id}/gateways/{gateway_id}": _remove_gateway,
    "provisioning POST /v1/domains/{domain_id}/provisioning-codes": fixed(
        "POST", "/v1/domains/{domain_id}/provisioning-codes", {}
    ),
    "provisioning GET /v1/domains/{domain_id}/provisioning-codes": fixed(
        "GET", "/v1/domains/{domain_id}/provisioning-codes"
    ),
    "provisioning POST /v1/domains/{domain_id}/provisioning-codes/{code_id}/revocation": _revoke_code,
    "provisioning POST /v1/provisioning": _enrol,
    "provisioning GET /v1/domains/{domain_id}/devices": fixed("GET", "/v1/domains/{domain_id}/devices"),
    "provisioning GET /v1/domains/{domain_id}/devices/{device_id}": fixed(
        "GET", "/v1/domains/{domain_id}/devices/{device_id}"
    ),
    "provisioning DELETE /v1/domains/{domain_id}/devices/{device_id}": _remove_device,
    "license-distributor POST /v1/gateways/{hwid}/challenge": fixed("POST", "/v1/gateways/{gateway_hwid}/challenge"),
    "license-distributor GET /v1/gateways/{hwid}/bundle": _pull,
    "license-distributor GET /v1/domains/{domain_id}/licences": fixed("GET", "/v1/domains/{domain_id}/licences"),
    "license-distributor POST /v1/signing-keys/rotation": fixed("POST", "/v1/signing-keys/rotation"),
    "license-distributor GET /v1/signing-keys/rotations/{rotation_id}": fixed(
        "GET", f"/v1/signing-keys/rotations/{uuid.uuid4()}"
    ),
    "license-distributor POST /v1/signing-keys/{kid}/revocation": _revoke_signing_key,
    "license-distributor GET /.well-known/jwks.json": fixed("GET", "/.well-known/jwks.json"),
}


def operations_of(name: str, document: dict[str, dict[str, dict[str, object]]]) -> set[str]:
    return {f"{name} {method.upper()} {path}" for path, methods in document["paths"].items() for method in methods}


async def documented_operations(seeded: SeededPlatform) -> set[str]:
    """Every operation of the four apps' OpenAPI documents: built in-process, and as served once started."""
    operations = set()
    for name, (spec, settings_cls) in SERVICES.items():
        operations |= operations_of(name, create_app(spec, settings_cls()).openapi())
        served = await seeded.served[name].client.get("/openapi.json")
        assert served.status_code == 200, served.text
        operations |= operations_of(name, served.json())
    return operations


async def test_every_documented_operation_has_a_row_in_the_matrix_and_nothing_else_does(
    seeded: SeededPlatform,
) -> None:
    documented = await documented_operations(seeded)
    assert documented - EXPECTED.keys() == set(), "operations without an expected answer"
    assert EXPECTED.keys() - documented == set(), "rows for operations the services no longer have"
    assert CASES.keys() == EXPECTED.keys()


def headers_of(seeded: SeededPlatform, caller: str) -> dict[str, str]:
    return {
        "anonymous": {},
        "owner": seeded.owner.customer,
        "other_customer": seeded.other.customer,
        "partner": seeded.seeder.partner,
        "operator": seeded.seeder.operator,
        "other_partner": OTHER_PARTNER(seeded),
    }[caller]


def OTHER_PARTNER(seeded: SeededPlatform) -> dict[str, str]:
    token = issue_token(load_or_create_key(seeded.platform.dev_dir), roles=["partner"], subject="matrix-other-partner")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("operation", sorted(EXPECTED))
async def test_each_caller_gets_the_expected_answer_and_no_other_accounts_data(
    seeded: SeededPlatform, operation: str
) -> None:
    service = operation.split(" ", 1)[0]
    owner = seeded.owner
    wrong: list[str] = []
    for caller, expected in zip(CALLERS, EXPECTED[operation], strict=True):
        call = await CASES[operation](seeded.seeder, owner)
        headers = {**call.headers, **headers_of(seeded, caller)}
        response = await seeded.seeder.call(service, call.method, call.url, headers=headers, json=call.json)
        if response.status_code != expected:
            wrong.append(f"{caller}: expected {expected}, got {response.status_code} {response.text[:300]}")
            continue
        # What the request itself named may be echoed back; anything else of tenant A must not appear.
        refused = response.status_code >= 400
        if refused or caller in ("anonymous", "other_customer", "other_partner"):
            disclosed = {str(getattr(owner, name)) for name in DISCLOSED.get(operation, ())}
            secret = owner.values() - disclosed
            leaked = {value for value in secret if value in response.text and value not in call.text()}
            if leaked:
                wrong.append(f"{caller}: {response.status_code} carries tenant A's {sorted(leaked)}")
    assert wrong == [], f"{operation}:\n" + "\n".join(wrong)


def test_the_roles_each_document_states_are_those_the_matrix_lets_through() -> None:
    """An operation's description names the roles it allows (shared.openapi, from its role dependencies): each
    named role gets past the role check in the matrix (no 403), each role not named is refused (403); and an
    operation that declares the bearer scheme refuses a caller without a token (401)."""
    by_role = {"customer": 1, "partner": 3, "operator": 4}
    for name, (spec, settings_cls) in SERVICES.items():
        document = create_app(spec, settings_cls()).openapi()
        for path, methods in document["paths"].items():
            for method, op in methods.items():
                row = EXPECTED[f"{name} {method.upper()} {path}"]
                if "security" not in op:
                    # No bearer token: an operation authenticated otherwise (a gateway's signed pull) documents
                    # its own 401.
                    assert row[0] != 401 or "401" in op["responses"], f"{name} {method.upper()} {path}"
                    continue
                assert row[0] == 401, f"{name} {method.upper()} {path}"
                stated = op["description"].split(ROLES_HEADING)[-1]
                for role, column in by_role.items():
                    allowed = f"`{role}`" in stated
                    assert (row[column] != 403) is allowed, f"{name} {method.upper()} {path}: {role} ({row[column]})"
