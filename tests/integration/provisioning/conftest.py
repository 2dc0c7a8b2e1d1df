"""Provisioning running for real (its full lifespan), a tap on the events exchange as a consumer would bind
it, and the steps every story here starts with (an account the wallet opened, a domain, a code).
"""

from __future__ import annotations

import asyncio
import base64
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning.config import Settings
from provisioning.main import SPEC
from shared.events.wallet import AccountOpened
from tests.harness import EventTap, TestPlatform, admin_fetchval, event_tap, eventually, publish_event, running_service

FAILED_ENROLMENTS_ALLOWED = 5


@pytest.fixture(scope="package")
async def provisioning(platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    settings = platform.settings(Settings, enrolment_failures_per_window=FAILED_ENROLMENTS_ALLOWED)
    async with running_service(SPEC, settings) as client:
        yield client


@pytest.fixture(scope="package")
async def events(platform: TestPlatform) -> AsyncIterator[EventTap]:
    """Every provisioning event, read the way a consuming service reads it: envelope, then catalogue model."""
    async with event_tap(platform, "provisioning.#") as tap:
        yield tap


@dataclass
class Steps:
    """The steps of a story, over HTTP against the running service."""

    client: httpx.AsyncClient
    test_platform: TestPlatform

    def auth(self, role: str, account_id: uuid.UUID | str | None = None) -> dict[str, str]:
        return self.test_platform.auth(role, account_id=account_id)

    async def open_account(self, name: str = "Acme") -> uuid.UUID:
        """What the wallet does: publish AccountOpened. Provisioning learns of it through its own queue."""
        account_id = uuid.uuid4()
        opened = AccountOpened(account_id=account_id, name=name, opened_by="dev-partner")
        await publish_event(self.test_platform, opened)
        await eventually(
            lambda: self.scalar("SELECT count(*) FROM provisioning.known_account WHERE id = $1", account_id)
        )
        return account_id

    async def create_domain(self, account_id: uuid.UUID, name: str | None = None) -> uuid.UUID:
        response = await self.client.post(
            "/v1/domains",
            json={"account_id": str(account_id), "name": name or f"pbx-{uuid.uuid4().hex[:8]}.example"},
            headers=self.auth("customer", account_id),
        )
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])

    async def account_with_domain(self) -> tuple[uuid.UUID, uuid.UUID]:
        account_id = await self.open_account()
        return account_id, await self.create_domain(account_id)

    async def issue_code(self, account_id: uuid.UUID, domain_id: uuid.UUID, **body: Any) -> str:
        response = await self.client.post(
            f"/v1/domains/{domain_id}/provisioning-codes", json=body, headers=self.auth("customer", account_id)
        )
        assert response.status_code == 201, response.text
        return str(response.json()["code"])

    def device_client(self, address: str | None = None) -> httpx.AsyncClient:
        """A client from its own address, so each test has its own enrolment rate-limit budget."""
        address = address or random_address()
        transport = httpx.ASGITransport(app=self.client.app, client=(address, 5060))  # type: ignore[attr-defined]
        return httpx.AsyncClient(transport=transport, base_url="http://provisioning")

    async def enrol_at_once(self, code: str, *, phones: int) -> list[httpx.Response]:
        """`phones` phones of one site enrolling with `code` all at once, each with its own hardware id."""
        async with self.device_client() as site:
            return await gather_responses(
                *(
                    site.post(
                        "/v1/provisioning",
                        json={"code": code, "hwid": random_hwid(), "product": "D717", "type": "PHONE"},
                    )
                    for _ in range(phones)
                )
            )

    async def scalar(self, sql: str, *args: object) -> Any:
        return await admin_fetchval(self.test_platform, sql, *args)


@pytest.fixture
def world(provisioning: httpx.AsyncClient, platform: TestPlatform) -> Steps:
    return Steps(client=provisioning, test_platform=platform)


def random_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def random_hwid() -> str:
    return uuid.uuid4().hex[:12]


def public_key() -> str:
    raw = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def gather_responses(*requests: Any) -> list[httpx.Response]:
    return list(await asyncio.gather(*requests))
