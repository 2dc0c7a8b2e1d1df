"""The services' OpenAPI documents declare what they really answer (docs/reliability.md, "API fuzzing").

Built from the real service specs without starting them: the document and a 405 need no database.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from license_distributor.config import Settings as DistributorSettings
from license_distributor.main import SPEC as DISTRIBUTOR
from provisioning.config import Settings as ProvisioningSettings
from provisioning.main import SPEC as PROVISIONING
from shared.config import ServiceSettings
from shared.idempotency import KEY_PATTERN
from shared.runtime import ServiceSpec, create_app
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

SERVICES: dict[str, tuple[ServiceSpec[Any], type[ServiceSettings]]] = {
    "wallet": (WALLET, WalletSettings),
    "contracts": (CONTRACTS, ContractsSettings),
    "provisioning": (PROVISIONING, ProvisioningSettings),
    "license-distributor": (DISTRIBUTOR, DistributorSettings),
}
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
VALIDATION_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ValidationProblem"}}}


def app_of(service: str, tmp_path: Path) -> FastAPI:
    spec, settings_cls = SERVICES[service]
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    return create_app(spec, settings_cls(auth_jwks_path=jwks, auth_jwks_url=None))


def document_of(service: str, tmp_path: Path) -> dict[str, Any]:
    return app_of(service, tmp_path).openapi()


def operation(document: dict[str, Any], name: str) -> dict[str, Any]:
    method, path = name.split(" ", 1)
    found: dict[str, Any] = document["paths"][path][method.lower()]
    return found


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_refusal_is_declared_as_a_problem_document(service: str, tmp_path: Path) -> None:
    document = document_of(service, tmp_path)
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    expected = VALIDATION_PROBLEM if status == "422" else PROBLEM
                    assert response.get("content") == expected, f"{method.upper()} {path} {status}"
    schemas = document["components"]["schemas"]
    assert schemas["Problem"]["required"] == ["type", "title", "status", "detail", "code"]
    assert "HTTPValidationError" not in schemas


def test_a_route_declares_its_own_refusals_as_problems(tmp_path: Path) -> None:
    document = document_of("wallet", tmp_path)
    redeem = operation(document, "POST /v1/accounts/{account_id}/redemptions")["responses"]
    assert set(redeem) == {"201", "400", "401", "403", "404", "409", "413", "422", "429", "503"}
    assert "key_revoked" in redeem["409"]["description"]
    assert redeem["404"]["content"] == PROBLEM
    # A read answers no 413 or 429: only what its handler can give is declared.
    assert set(operation(document, "GET /v1/accounts/{account_id}/ledger")["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "422",
        "503",
    }
    # Reading an account answers 409 only while its test clock advances.
    account = operation(document, "GET /v1/accounts/{account_id}")["responses"]
    assert set(account) == {"200", "401", "403", "404", "409", "422", "503"}
    assert "test_clock_advancing" in account["409"]["description"]


def test_401_403_and_issuer_unavailable_only_where_a_token_is_needed(tmp_path: Path) -> None:
    enrol = operation(document_of("provisioning", tmp_path), "POST /v1/provisioning")["responses"]
    assert "401" not in enrol
    assert "403" not in enrol
    assert "issuer_unavailable" not in enrol["503"]["description"]
    assert "database_unavailable" in enrol["503"]["description"]
    assert {"404", "409", "410", "429"} <= set(enrol)
    listing = operation(document_of("provisioning", tmp_path), "GET /v1/domains")["responses"]
    assert {"401", "403", "503"} <= set(listing)
    assert "issuer_unavailable" in listing["503"]["description"]
    assert "413" not in listing


def test_the_wallet_declares_its_idempotency_key_header(tmp_path: Path) -> None:
    document = document_of("wallet", tmp_path)
    for name in (
        "POST /v1/accounts/{account_id}/redemptions",
        "POST /v1/accounts/{account_id}/adjustments",
        "POST /v1/activation-keys",
        "POST /v1/activation-keys/{key_id}/revocation",
    ):
        headers = [p for p in operation(document, name)["parameters"] if p["in"] == "header"]
        assert [(h["name"], h["required"]) for h in headers] == [("Idempotency-Key", True)], name
        assert headers[0]["schema"]["pattern"] == KEY_PATTERN
        assert "idempotency_key_required" in operation(document, name)["responses"]["400"]["description"]
    # Where it is optional (contracts' creating requests), it is declared as optional.
    contracts = document_of("contracts", tmp_path)
    for name, required in (
        ("POST /v1/contracts", False),
        ("POST /v1/contracts/{contract_id}/domains", False),
        ("POST /v1/contracts/{contract_id}/rentals", True),
        ("POST /v1/contracts/{contract_id}/rentals/{rental_id}/deactivation", True),
        ("POST /v1/contracts/{contract_id}/rentals/{rental_id}/replacement", True),
    ):
        parameters = operation(contracts, name)["parameters"]
        assert [(p["name"], p["required"]) for p in parameters if p["in"] == "header"] == [
            ("Idempotency-Key", required)
        ], name


def test_a_cursor_is_documented_with_its_format(tmp_path: Path) -> None:
    ledger = operation(document_of("wallet", tmp_path), "GET /v1/accounts/{account_id}/ledger")
    cursor = next(p for p in ledger["parameters"] if p["name"] == "cursor")
    assert cursor["schema"]["pattern"] == "^[A-Za-z0-9_-]+$"
    assert "invalid_cursor" in ledger["responses"]["400"]["description"]


@pytest.mark.parametrize(
    ("key", "valid"),
    [("a", True), ("k" * 200, True), ("two words", True), ("", False), (" padded", False), ("k" * 201, False)],
)
def test_the_idempotency_key_pattern(key: str, valid: bool) -> None:
    assert bool(re.match(KEY_PATTERN, key)) is valid


@pytest.mark.parametrize(
    ("service", "method", "path", "allowed"),
    [
        ("provisioning", "POST", "/v1/domains/00000000-0000-0000-0000-000000000001/devices/x", "DELETE, GET"),
        ("provisioning", "OPTIONS", "/v1/domains", "GET, POST"),
        ("contracts", "DELETE", "/v1/tariffs/GW4", "GET, PUT"),
        ("wallet", "PATCH", "/v1/accounts", "POST"),
    ],
)
async def test_a_405_lists_every_method_of_the_path(
    service: str, method: str, path: str, allowed: str, tmp_path: Path
) -> None:
    # The ASGI transport does not start the lifespan (database, broker); a 405 needs neither.
    transport = httpx.ASGITransport(app=app_of(service, tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"
