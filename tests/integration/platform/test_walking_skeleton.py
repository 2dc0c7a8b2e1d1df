"""All four services start with their schema migrated, serve OpenAPI, probes and metrics, and talk via events."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

import httpx
import pytest

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from license_distributor.config import Settings as LicenseDistributorSettings
from license_distributor.main import SPEC as LICENSE_DISTRIBUTOR
from provisioning.config import Settings as ProvisioningSettings
from provisioning.main import SPEC as PROVISIONING
from tests.harness import TestPlatform, admin_count, eventually, running_services
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET


@pytest.fixture(scope="module")
async def services(platform: TestPlatform) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    async with running_services(
        platform,
        {
            "wallet": (WALLET, WalletSettings),
            "contracts": (CONTRACTS, ContractsSettings),
            "provisioning": (PROVISIONING, ProvisioningSettings),
            "licensing": (LICENSE_DISTRIBUTOR, LicenseDistributorSettings),
        },
    ) as clients:
        yield clients


@pytest.mark.parametrize("name", ["wallet", "contracts", "provisioning", "licensing"])
async def test_every_service_serves_openapi_probes_and_metrics(
    services: dict[str, httpx.AsyncClient], name: str
) -> None:
    client = services[name]
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": True, "broker": True}
    openapi = (await client.get("/openapi.json")).json()
    assert openapi["openapi"].startswith("3.")
    metrics = await client.get("/metrics")
    assert "http_requests_total" in metrics.text


async def test_an_account_opened_in_the_wallet_becomes_known_to_provisioning_and_onwards(
    services: dict[str, httpx.AsyncClient], platform: TestPlatform
) -> None:
    partner = platform.auth("partner")
    opened = await services["wallet"].post("/v1/accounts", json={"name": "Acme"}, headers=partner)
    assert opened.status_code == 201, opened.text
    account_id = opened.json()["id"]

    async def create_domain() -> httpx.Response:
        return await services["provisioning"].post(
            "/v1/domains", json={"account_id": account_id, "name": "acme.example"}, headers=partner
        )

    # Until AccountOpened arrives, provisioning answers 409 not_yet_known; then the domain is created.
    created = await eventually(create_domain, until=lambda r: r.status_code != 409)
    assert created.status_code == 201, created.text
    domain_id = created.json()["id"]

    customer = platform.auth("customer", account_id=account_id)
    read = await services["provisioning"].get(f"/v1/domains/{domain_id}", headers=customer)
    assert read.json() == {"id": domain_id, "account_id": account_id, "name": "acme.example"}
    # The domain reaches the read models of contracts and the distributor.
    for schema in ("contracts", "licensing"):
        query = f"SELECT count(*) FROM {schema}.known_domain WHERE id = $1"
        await eventually(functools.partial(admin_count, platform, query, domain_id))
    other = platform.auth("customer", account_id="00000000-0000-4000-8000-000000000001")
    hidden = await services["provisioning"].get(f"/v1/domains/{domain_id}", headers=other)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
