"""Provisioning running for real (its full lifespan), a tap on the events exchange as a consumer would bind
it, and the steps every story here starts with (an account the wallet opened, a domain, a code).
"""

from __future__ import annotations

import asyncio
import base64
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import aio_pika
import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning.config import Settings
from provisioning.main import SPEC
from shared.events import CATALOGUE
from shared.events.base import Event
from shared.events.wallet import AccountOpened
from shared.messaging.envelope import CONTENT_TYPE, Envelope
from shared.messaging.topology import Topology
from tests.harness import TestPlatform, eventually, ready, running_service

FAILED_ENROLMENTS_ALLOWED = 5


@pytest.fixture(scope="package")
async def provisioning(platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    settings = platform.settings(Settings, enrolment_failures_per_window=FAILED_ENROLMENTS_ALLOWED)
    async with running_service(SPEC, settings) as client:
        yield client


E = TypeVar("E", bound=Event)


@dataclass
class Received(Generic[E]):
    envelope: Envelope
    event: E


@dataclass
class EventTap:
    """Every provisioning event, read the way a consuming service reads it: envelope, then catalogue model."""

    received: list[Received[Event]] = field(default_factory=list)

    def of(self, event_type: type[E], **fields: Any) -> list[Received[E]]:
        found: list[Received[E]] = []
        for r in self.received:
            if isinstance(r.event, event_type) and all(getattr(r.event, k) == v for k, v in fields.items()):
                found.append(Received(envelope=r.envelope, event=r.event))
        return found

    async def one(self, event_type: type[E], **fields: Any) -> Received[E]:
        found = await eventually(lambda: ready(self.of(event_type, **fields)), until=lambda r: len(r) >= 1)
        assert len(found) == 1, found
        return found[0]


@pytest.fixture(scope="package")
async def events(platform: TestPlatform) -> AsyncIterator[EventTap]:
    tap = EventTap()
    connection = await aio_pika.connect(platform.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await Topology(prefix=platform.broker_prefix).declare_exchanges(channel)
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="provisioning.#")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                envelope = Envelope.from_bytes(message.body)
                event = CATALOGUE[envelope.type].model_validate(envelope.data)
                tap.received.append(Received(envelope=envelope, event=event))

        await queue.consume(on_message)
        yield tap
    finally:
        await connection.close()


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
        event = AccountOpened(account_id=account_id, name=name)
        envelope = Envelope.of(
            id=uuid.uuid4(),
            source="/wallet",
            type=event.routing_key(),
            time=datetime.now(UTC),
            subject=event.subject(),
            data=event.model_dump(mode="json"),
            traceparent=None,
        )
        connection = await aio_pika.connect(self.test_platform.amqp_url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await Topology(prefix=self.test_platform.broker_prefix).declare_exchanges(channel)
            await exchange.publish(
                aio_pika.Message(envelope.to_bytes(), content_type=CONTENT_TYPE, message_id=envelope.id),
                routing_key=event.routing_key(),
            )
        finally:
            await connection.close()
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

    async def scalar(self, sql: str, *args: object) -> Any:
        conn = await asyncpg.connect(self.test_platform.admin_database_url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()


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
