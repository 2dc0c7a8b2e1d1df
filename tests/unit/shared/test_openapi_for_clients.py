"""What a client generator needs from the four documents, checked over every operation they serve (so a route
added later is held to the same rules): stable short operation ids, the security scheme and roles, plain
optional bodies, one name per schema shape across services, and docs pages that need no CDN.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.utils import generate_unique_id

from shared.auth import ROLES_REQUIRED, Role
from shared.openapi import BEARER_SCHEME, ROLES_HEADING, _calls, allowed_roles, needs_token
from tests.unit.shared.test_openapi_document import SERVICES, app_of, document_of, operation

# An id a client's function is named after: lower camelCase, short, no path or underscores in it.
OPERATION_ID = re.compile(r"^[a-z][a-zA-Z0-9]{2,39}$")
METHODS = {"get", "put", "post", "delete", "patch"}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_operation_has_its_own_short_camel_case_id(service: str, tmp_path: Path) -> None:
    app = app_of(service, tmp_path)
    defaults = {
        generate_unique_id(route.original_route)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
    }
    ids = [op.get("operationId", "") for _, _, op in operations(app.openapi())]
    assert len(ids) > 3
    looking_default = [i for i in ids if not OPERATION_ID.fullmatch(i) or "_" in i or i in defaults]
    assert looking_default == [], f"set operation_id= on the route: {looking_default}"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == []


def test_the_story_s_operations_are_named_as_a_client_calls_them(tmp_path: Path) -> None:
    assert operation(document_of("wallet", tmp_path), "POST /v1/accounts/{account_id}/redemptions")["operationId"] == (
        "redeemActivationKey"
    )
    rentals = operation(document_of("contracts", tmp_path), "POST /v1/contracts/{contract_id}/rentals")
    assert rentals["operationId"] == "activateRental"


@pytest.mark.parametrize("service", list(SERVICES))
def test_an_operation_needing_a_token_declares_the_bearer_scheme_and_its_roles(service: str, tmp_path: Path) -> None:
    app = app_of(service, tmp_path)
    document = app.openapi()
    assert document["components"]["securitySchemes"][BEARER_SCHEME] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": document["components"]["securitySchemes"][BEARER_SCHEME]["description"],
    }
    checked = 0
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        calls = dict.fromkeys(_calls(route.dependant))
        for method in route.methods or ():
            op = document["paths"][route.path_format][method.lower()]
            if not needs_token(calls):
                assert "security" not in op, f"{method} {route.path_format}"
                assert ROLES_HEADING not in op.get("description", "")
                continue
            checked += 1
            assert op["security"] == [{BEARER_SCHEME: []}], f"{method} {route.path_format}"
            roles_line = op["description"].split(ROLES_HEADING)[-1]
            stated = {role for role in Role if f"`{role.value}`" in roles_line}
            assert stated == allowed_roles(calls), f"{method} {route.path_format}"
            assert stated, f"{method} {route.path_format} allows nobody"
    assert checked > 0


def test_the_roles_stated_are_those_the_route_enforces(tmp_path: Path) -> None:
    wallet = document_of("wallet", tmp_path)
    adjust = operation(wallet, "POST /v1/accounts/{account_id}/adjustments")["description"]
    assert adjust.endswith(f"{ROLES_HEADING} `operator`.")
    batch = operation(wallet, "POST /v1/activation-keys")["description"]
    assert batch.split(ROLES_HEADING)[-1] == " `partner`, `operator`."
    # The description the route gave is kept ahead of the roles.
    assert batch.startswith("Issue a batch of activation keys")
    provisioning = document_of("provisioning", tmp_path)
    domains = operation(provisioning, "GET /v1/domains")["description"]
    assert all(f"`{role.value}`" in domains for role in Role)
    assert any(roles == frozenset({Role.OPERATOR}) for roles in ROLES_REQUIRED.values())


# Every POST accepts an Idempotency-Key but these, which no retry can make do something twice.
NO_IDEMPOTENCY_KEY = {
    "enrolDevice": "idempotent by hardware id: the same device enrolling again gets its device back",
    "createPullChallenge": "a fresh nonce each time; nothing is created that a retry would duplicate",
    "acceptContract": "a state change: a second acceptance is 409 contract_not_draft",
    "approveContract": "a state change: a second approval is 409 contract_not_pending_approval",
    "revokeProvisioningCode": "a state change: a revoked code stays revoked",
    "reactivateWebhookEndpoint": "a state change: an endpoint enabled again stays enabled",
    "replayWebhookDelivery": "sends the same message again under its webhook-id, which receivers deduplicate",
    "forecastRunway": "a question, not a change: it commits nothing, so a retry is simply asked again",
}
# The money-moving POSTs (and PUTs), where the key is required (docs/design.md, Money), and the one that moves
# licences for every gateway at once: a signing key's revocation.
MONEY_MOVING = {
    "revokeSigningKey",
    "redeemActivationKey",
    "adjustBalance",
    "issueKeyBatch",
    "revokeActivationKey",
    "activateRental",
    "deactivateRental",
    "replaceDevice",
    "terminateContract",
    "startSoftwareRental",
    "changeSoftwareCount",
    "endSoftwareRental",
    # Settles, warns, reloads and runs out the accounts on the clock.
    "advanceTestClock",
}


def test_every_creating_post_accepts_an_idempotency_key_and_money_moving_ones_require_it(tmp_path: Path) -> None:
    required: set[str] = set()
    accepted: set[str] = set()
    for service in SERVICES:
        for method, _, op in operations(document_of(service, tmp_path)):
            header = [p for p in op.get("parameters", []) if p["in"] == "header" and p["name"] == "Idempotency-Key"]
            if header:
                (required if header[0]["required"] else accepted).add(op["operationId"])
                assert method == "POST", op["operationId"]
            elif method == "POST":
                assert op["operationId"] in NO_IDEMPOTENCY_KEY, f"{op['operationId']} takes no Idempotency-Key"
    assert required == MONEY_MOVING
    assert {"openAccount", "openContract", "linkDomain", "createDomain", "registerGateway"} <= accepted
    assert {"issueProvisioningCode", "rotateSigningKey", "createTestClock"} <= accepted


@pytest.mark.parametrize(
    ("service", "name", "schema"),
    [
        ("provisioning", "POST /v1/domains/{domain_id}/provisioning-codes", "ProvisioningCodeCreate"),
        ("contracts", "POST /v1/contracts/{contract_id}/rentals/{rental_id}/deactivation", "DeactivationCreate"),
        ("contracts", "POST /v1/contracts/{contract_id}/termination", "TerminationCreate"),
    ],
)
def test_an_optional_body_is_declared_plainly(service: str, name: str, schema: str, tmp_path: Path) -> None:
    body = operation(document_of(service, tmp_path), name)["requestBody"]
    assert body.get("required", False) is False
    assert body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{schema}"}


@pytest.mark.parametrize("service", list(SERVICES))
def test_no_body_is_a_model_or_null(service: str, tmp_path: Path) -> None:
    for method, path, op in operations(document_of(service, tmp_path)):
        for media in op.get("requestBody", {}).get("content", {}).values():
            variants = media["schema"].get("anyOf", [])
            assert {"type": "null"} not in variants, f"{method} {path}"


def test_a_schema_name_means_one_shape_across_the_services(tmp_path: Path) -> None:
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for service in SERVICES:
        for name, schema in document_of(service, tmp_path)["components"]["schemas"].items():
            text = json.dumps(schema, sort_keys=True)
            if name in seen and seen[name][1] != text:
                clashes.append(f"{name}: {seen[name][0]} and {service}")
            seen.setdefault(name, (service, text))
    assert clashes == []


def test_closed_sets_are_enums_and_extras_have_models(tmp_path: Path) -> None:
    contracts = document_of("contracts", tmp_path)["components"]["schemas"]
    assert set(contracts["DeviceType"]["enum"]) >= {"PHONE", "GW"}
    assert contracts["HardwareItem"]["properties"]["type"] == {"$ref": "#/components/schemas/DeviceType"}
    assert contracts["HistoryEntryRead"]["properties"]["type"] == {"$ref": "#/components/schemas/HistoryEntryType"}
    assert "RentalChanged" in contracts["HistoryEntryType"]["enum"]
    assert contracts["HistoryEntryRead"]["properties"]["data"] == {"$ref": "#/components/schemas/HistoryData"}
    distributor = document_of("license-distributor", tmp_path)["components"]["schemas"]
    assert distributor["JwksRead"]["properties"]["keys"]["items"] == {"$ref": "#/components/schemas/JwkRead"}
    assert {"kty", "crv", "x", "kid"} <= set(distributor["JwkRead"]["required"])
    problem = contracts["Problem"]["properties"]
    assert problem["retry_after_s"]["anyOf"][0]["type"] == "integer"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_their_assets_from_the_service_itself(page: str, tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=app_of("wallet", tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        html = await client.get(page)
        assert html.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert sources
        assert all(source.startswith("/docs/assets/") for source in sources), sources
        for source in sources:
            asset = await client.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 1000, source
    assert "cdn" not in html.text.lower()
    assert "fonts.googleapis" not in html.text
