"""The four services running for real, with two tenants seeded through their public APIs.

Tenant A is the one every request aims at; tenant B is "another account's customer". Every object a
request may need (an account, a key, a domain, a gateway, a contract, a device, a rental) exists for
real, so a refusal is the services' decision and never a missing object.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from contracts.config import Settings as ContractsSettings
from contracts.main import SPEC as CONTRACTS
from license_distributor.config import Settings as DistributorSettings
from license_distributor.main import SPEC as DISTRIBUTOR
from provisioning.config import Settings as ProvisioningSettings
from provisioning.main import SPEC as PROVISIONING
from shared.config import ServiceSettings
from shared.runtime import ServiceSpec
from tests.harness import Tenant, TestPlatform, eventually, free_port, serving_service
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

PRODUCT = "PHONE-SEC"
JsonBody = Mapping[str, object]
SERVICES: dict[str, tuple[ServiceSpec[Any], type[ServiceSettings]]] = {
    "wallet": (WALLET, WalletSettings),
    "contracts": (CONTRACTS, ContractsSettings),
    "provisioning": (PROVISIONING, ProvisioningSettings),
    "license-distributor": (DISTRIBUTOR, DistributorSettings),
}


def public_key() -> str:
    """A fresh gateway key as provisioning wants it: base64url of the raw 32 bytes."""
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hwid() -> str:
    return secrets.token_hex(6)


@dataclass
class Served:
    name: str
    url: str
    client: httpx.AsyncClient


@asynccontextmanager
async def serving(name: str, platform: TestPlatform) -> AsyncIterator[Served]:
    """One service's real app on a uvicorn server on a free port (the fuzzer needs a real socket)."""
    spec, settings_cls = SERVICES[name]
    overrides: dict[str, object] = {}
    if name == "provisioning":
        # The fuzzer's enrolments with unknown codes would use up the address's failures and lock the seeder (the
        # same address) out of enrolling devices for the next tenants; the limit has its own integration tests.
        overrides = {"enrolment_failures_per_window": 1_000_000, "enrolment_attempts_per_window": 1_000_000}
    settings = platform.settings(settings_cls, http_port=free_port(), **overrides)
    async with serving_service(spec, settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield Served(name=name, url=url, client=client)


@dataclass(kw_only=True)
class SeededTenant(Tenant):
    """One account and everything it owns; `values()` is what must never leak to anyone else."""

    domain_name: str = ""
    gateway_id: str = ""
    gateway_hwid: str = ""
    contract_id: str = ""
    device_id: str = ""
    device_hwid: str = ""
    rental_id: str = ""
    code_id: str = ""
    extra: list[str] = field(default_factory=list)

    def values(self) -> set[str]:
        named = {
            self.account_id,
            self.name,
            self.domain_id,
            self.domain_name,
            self.gateway_id,
            self.gateway_hwid,
            self.contract_id,
            self.device_id,
            self.device_hwid,
            self.rental_id,
            self.code_id,
        }
        return {v for v in named | set(self.extra) if v}


class Seeder:
    """Makes real objects through the services' own APIs, as a partner, an operator or the customer would."""

    def __init__(self, platform: TestPlatform, served: Mapping[str, Served]) -> None:
        self.platform = platform
        self.served = served
        self.partner = platform.auth("partner")
        self.operator = platform.auth("operator")

    def client(self, service: str) -> httpx.AsyncClient:
        return self.served[service].client

    async def call(
        self, service: str, method: str, url: str, *, headers: Mapping[str, str], json: JsonBody | None = None
    ) -> httpx.Response:
        """Retry while another service's event has not arrived (409 not_yet_known), as a client may."""

        async def attempt() -> httpx.Response:
            return await self.client(service).request(method, url, json=json, headers=dict(headers))

        return await eventually(
            attempt,
            until=lambda r: not (r.status_code == 409 and r.json().get("code") == "not_yet_known"),
            within=20,
            every=0.1,
        )

    async def ok(
        self, service: str, method: str, url: str, *, headers: Mapping[str, str], json: JsonBody | None = None
    ) -> dict[str, object]:
        response = await self.call(service, method, url, headers=headers, json=json)
        assert response.status_code in (200, 201), f"{method} {url}: {response.status_code} {response.text}"
        body: dict[str, object] = response.json()
        return body

    def money(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {**headers, "Idempotency-Key": uuid.uuid4().hex}

    async def tariff(self) -> None:
        await self.ok(
            "contracts",
            "PUT",
            f"/v1/tariffs/{PRODUCT}",
            headers=self.operator,
            json={"rate_per_day": "1", "licences": [{"type": "PORT", "count": 1}]},
        )

    async def key(self, amount: str = "100") -> dict[str, str]:
        batch = await self.ok(
            "wallet",
            "POST",
            "/v1/activation-keys",
            headers=self.money(self.partner),
            json={"amount": amount, "count": 1},
        )
        keys = batch["keys"]
        assert isinstance(keys, list)
        return {"id": str(keys[0]["id"]), "code": str(keys[0]["code"])}

    async def tenant(self, label: str) -> SeededTenant:
        name = f"{label} {uuid.uuid4().hex[:8]}"
        account = await self.ok("wallet", "POST", "/v1/accounts", headers=self.partner, json={"name": name})
        account_id = str(account["id"])
        tenant = SeededTenant(
            account_id=account_id, name=name, customer=self.platform.auth("customer", account_id=account_id)
        )
        key = await self.key("1000")
        await self.ok(
            "wallet",
            "POST",
            f"/v1/accounts/{account_id}/redemptions",
            headers=self.money(tenant.customer),
            json={"code": key["code"]},
        )
        tenant.extra.append(key["id"])
        tenant.domain_id, tenant.domain_name = await self.domain(tenant)
        gateway = await self.gateway(tenant)
        tenant.gateway_id, tenant.gateway_hwid = str(gateway["id"]), str(gateway["hwid"])
        tenant.contract_id = await self.contract(tenant, status="active")
        await self.link(tenant, contract_id=tenant.contract_id, domain_id=tenant.domain_id)
        tenant.code_id = str((await self.provisioning_code(tenant))["id"])
        device = await self.device(tenant, rentable=True)
        tenant.device_id, tenant.device_hwid = str(device["id"]), str(device["hwid"])
        tenant.rental_id = await self.rental(tenant, device_id=tenant.device_id)
        return tenant

    async def domain(self, tenant: SeededTenant) -> tuple[str, str]:
        name = f"d{uuid.uuid4().hex[:10]}.example"
        body = await self.ok(
            "provisioning",
            "POST",
            "/v1/domains",
            headers=self.partner,
            json={"account_id": tenant.account_id, "name": name},
        )
        return str(body["id"]), name

    async def gateway(self, tenant: SeededTenant) -> dict[str, object]:
        return await self.ok(
            "provisioning",
            "POST",
            f"/v1/domains/{tenant.domain_id}/gateways",
            headers=self.partner,
            json={"hwid": hwid(), "product": "GW-SEC", "public_key": public_key()},
        )

    async def contract(self, tenant: SeededTenant, *, status: str) -> str:
        """A contract of the tenant's account in `status`: draft, pending_approval or active."""
        body = await self.ok(
            "contracts", "POST", "/v1/contracts", headers=self.partner, json={"account_id": tenant.account_id}
        )
        contract_id = str(body["id"])
        if status in ("pending_approval", "active"):
            await self.ok("contracts", "POST", f"/v1/contracts/{contract_id}/acceptance", headers=tenant.customer)
        if status == "active":
            await self.ok("contracts", "POST", f"/v1/contracts/{contract_id}/approval", headers=self.operator)
        return contract_id

    async def link(self, tenant: SeededTenant, *, contract_id: str, domain_id: str) -> None:
        await self.ok(
            "contracts",
            "POST",
            f"/v1/contracts/{contract_id}/domains",
            headers=tenant.customer,
            json={"domain_id": domain_id},
        )

    async def provisioning_code(self, tenant: SeededTenant) -> dict[str, object]:
        return await self.ok(
            "provisioning",
            "POST",
            f"/v1/domains/{tenant.domain_id}/provisioning-codes",
            headers=tenant.customer,
            json={},
        )

    async def device(self, tenant: SeededTenant, *, rentable: bool) -> dict[str, object]:
        """A phone enrolled by code in the tenant's domain; `rentable` waits until contracts lists it."""
        code = await self.provisioning_code(tenant)
        device = await self.ok(
            "provisioning",
            "POST",
            "/v1/provisioning",
            headers={},
            json={"code": code["code"], "hwid": hwid(), "product": PRODUCT, "type": "PHONE"},
        )
        if rentable:
            device_id = str(device["id"])

            async def hardware() -> list[dict[str, object]]:
                body = await self.ok(
                    "contracts", "GET", f"/v1/contracts/{tenant.contract_id}/hardware?limit=200", headers=self.operator
                )
                items: list[dict[str, object]] = body["items"]  # type: ignore[assignment]
                return items

            await eventually(
                hardware,
                until=lambda items: any(i["device_id"] == device_id and i["rentable"] for i in items),
                within=20,
            )
        return device

    async def rental(self, tenant: SeededTenant, *, device_id: str) -> str:
        # One key for every attempt: a refused attempt is not kept under it, the one that succeeds is.
        headers = self.money(tenant.customer)

        async def activate() -> httpx.Response:
            return await self.call(
                "contracts",
                "POST",
                f"/v1/contracts/{tenant.contract_id}/rentals",
                headers=headers,
                json={"device_id": device_id},
            )

        # The wallet's news of the redemption reaches contracts by event: until then it answers no_credit.
        response = await eventually(
            activate, until=lambda r: not (r.status_code == 409 and r.json().get("code") == "no_credit"), within=20
        )
        assert response.status_code == 201, f"activation: {response.status_code} {response.text}"
        return str(response.json()["id"])


@dataclass
class SeededPlatform:
    platform: TestPlatform
    served: dict[str, Served]
    seeder: Seeder
    owner: SeededTenant
    other: SeededTenant


@pytest.fixture(scope="package")
async def seeded(platform: TestPlatform) -> AsyncIterator[SeededPlatform]:
    async with AsyncExitStack() as stack:
        served = {name: await stack.enter_async_context(serving(name, platform)) for name in SERVICES}
        seeder = Seeder(platform, served)
        await seeder.tariff()
        owner = await seeder.tenant("Owner")
        other = await seeder.tenant("Other")
        yield SeededPlatform(platform=platform, served=served, seeder=seeder, owner=owner, other=other)
